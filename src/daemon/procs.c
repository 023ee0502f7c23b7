/* SPDX-License-Identifier: MIT */
#include "daemon/procs.h"

#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "daemon/domains.h"

/* remote_protocol.x procedure numbers */
enum {
	PROC_CONNECT_OPEN = 1,
	PROC_CONNECT_CLOSE = 2,
	PROC_CONNECT_GET_TYPE = 3,
	PROC_CONNECT_GET_VERSION = 4,
	PROC_CONNECT_GET_MAX_VCPUS = 5,
	PROC_NODE_GET_INFO = 6,
	PROC_DOMAIN_CREATE = 9,
	PROC_DOMAIN_DEFINE_XML = 11,
	PROC_DOMAIN_DESTROY = 12,
	PROC_DOMAIN_GET_XML_DESC = 14,
	PROC_DOMAIN_GET_AUTOSTART = 15,
	PROC_DOMAIN_GET_INFO = 16,
	PROC_DOMAIN_GET_MAX_MEMORY = 17,
	PROC_DOMAIN_GET_MAX_VCPUS = 18,
	PROC_DOMAIN_GET_OS_TYPE = 19,
	PROC_DOMAIN_LOOKUP_BY_ID = 22,
	PROC_DOMAIN_LOOKUP_BY_NAME = 23,
	PROC_DOMAIN_LOOKUP_BY_UUID = 24,
	PROC_DOMAIN_RESUME = 28,
	PROC_DOMAIN_SHUTDOWN = 33,
	PROC_DOMAIN_SUSPEND = 34,
	PROC_DOMAIN_UNDEFINE = 35,
	PROC_CONNECT_GET_HOSTNAME = 59,
	PROC_CONNECT_SUPPORTS_FEATURE = 60,
	PROC_AUTH_LIST = 66,
	PROC_CONNECT_GET_URI = 110,
	PROC_DOMAIN_GET_SECURITY_LABEL = 121,
	PROC_NODE_GET_SECURITY_MODEL = 122,
	PROC_CONNECT_IS_SECURE = 149,
	PROC_DOMAIN_IS_ACTIVE = 150,
	PROC_DOMAIN_IS_PERSISTENT = 151,
	PROC_CONNECT_GET_LIB_VERSION = 157,
	PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE = 183,
	PROC_DOMAIN_SNAPSHOT_NUM = 187,
	PROC_DOMAIN_CREATE_WITH_FLAGS = 196,
	PROC_DOMAIN_GET_VCPUS_FLAGS = 200,
	PROC_DOMAIN_OPEN_CONSOLE = 201,
	PROC_DOMAIN_IS_UPDATED = 202,
	PROC_DOMAIN_GET_STATE = 212,
	PROC_DOMAIN_UNDEFINE_FLAGS = 231,
	PROC_DOMAIN_DESTROY_FLAGS = 234,
	PROC_DOMAIN_SHUTDOWN_FLAGS = 258,
	PROC_CONNECT_LIST_ALL_DOMAINS = 273,
	PROC_DOMAIN_DEFINE_XML_FLAGS = 350,
	PROC_DOMAIN_GET_MESSAGES = 426,
};

#define VIR_DRV_FEATURE_PROGRAM_KEEPALIVE 10
#define VIR_CONNECT_RO			  1
#define REMOTE_DOMAIN_LIST_MAX		  16384

/* virConnectListAllDomainsFlags: groups filter only when a bit of the group is set */
enum {
	LIST_ACTIVE = 1 << 0,
	LIST_INACTIVE = 1 << 1,
	LIST_PERSISTENT = 1 << 2,
	LIST_TRANSIENT = 1 << 3,
	LIST_RUNNING = 1 << 4,
	LIST_PAUSED = 1 << 5,
	LIST_SHUTOFF = 1 << 6,
	LIST_OTHER = 1 << 7,
	LIST_MANAGEDSAVE = 1 << 8,
	LIST_NO_MANAGEDSAVE = 1 << 9,
	LIST_AUTOSTART = 1 << 10,
	LIST_NO_AUTOSTART = 1 << 11,
	LIST_HAS_SNAPSHOT = 1 << 12,
	LIST_NO_SNAPSHOT = 1 << 13,
	LIST_HAS_CHECKPOINT = 1 << 14,
	LIST_NO_CHECKPOINT = 1 << 15,
};

/* cove's version as libvirt encodes versions: major * 1000000 + minor * 1000 + micro */
static uint64_t cove_version_number(void)
{
	unsigned maj = 0, min = 0, mic = 0;

	sscanf(COVE_VERSION, "%u.%u.%u", &maj, &min, &mic);
	return (uint64_t)maj * 1000000 + min * 1000 + mic;
}

static struct domains *set_of(struct rpc_call *call)
{
	return rpc_call_priv(call);
}

static void put_domain(struct xdr_enc *e, const struct domain *d)
{
	xdr_put_string(e, domain_def(d)->name);
	xdr_put_fixed(e, domain_def(d)->uuid, 16);
	xdr_put_i32(e, domain_id(d));
}

/* remote_nonnull_domain: the server finds it by uuid, as libvirtd does. NULL with
 * *malformed false means "no such domain" and the error is set. */
static struct domain *get_domain(struct rpc_call *call, struct xdr_dec *in, bool *malformed)
{
	uint8_t uuid[16];
	char *name = xdr_get_string(in, RPC_STRING_MAX);
	struct domain *d;
	char s[37];

	xdr_get_fixed(in, uuid, 16);
	xdr_get_i32(in);
	*malformed = in->bad;
	if (in->bad) {
		g_free(name);
		return NULL;
	}
	d = domains_by_uuid(set_of(call), uuid);
	if (!d) {
		domain_uuid_format(uuid, s);
		rpc_call_set_error(call, VIR_ERR_NO_DOMAIN,
				   "Domain not found: no domain with matching uuid '%s' (%s)", s,
				   name);
	}
	g_free(name);
	return d;
}

/* "dom [flags]" arguments: 0 decoded, 1 no such domain (error set), -1 malformed. */
static int domain_args(struct rpc_call *call, struct xdr_dec *in, struct domain **d,
		       uint32_t *flags)
{
	bool bad;

	*d = get_domain(call, in, &bad);
	if (flags)
		*flags = xdr_get_u32(in);
	if (bad || !xdr_dec_done(in))
		return -1;
	return *d ? 0 : 1;
}

#define DOMAIN_ARGS(call, in, d, flagsp, res)                                                      \
	do {                                                                                       \
		int r_ = domain_args(call, in, &(d), flagsp);                                      \
		if (r_ < 0)                                                                        \
			return RPC_MALFORMED;                                                      \
		if (r_ > 0)                                                                        \
			return (res);                                                              \
	} while (0)

static enum rpc_result no_args(struct xdr_dec *in)
{
	return xdr_dec_done(in) ? RPC_REPLY_NOW : RPC_MALFORMED;
}

static bool flags_ok(struct rpc_call *call, uint32_t flags, uint32_t allowed)
{
	if (flags & ~allowed) {
		rpc_call_set_error(call, VIR_ERR_INVALID_ARG, "unsupported flags (0x%x)",
				   flags & ~allowed);
		return false;
	}
	return true;
}

static enum rpc_result p_open(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	char *name;
	uint32_t flags;

	(void)out;
	if (!xdr_get_opt_string(in, RPC_STRING_MAX, &name))
		return RPC_MALFORMED;
	flags = xdr_get_u32(in);
	if (!xdr_dec_done(in)) {
		g_free(name);
		return RPC_MALFORMED;
	}
	if (name && *name && !g_str_has_prefix(name, "cove:"))
		rpc_call_set_error(call, VIR_ERR_NO_SUPPORT,
				   "this daemon serves cove:///system, not %s", name);
	if (flags & VIR_CONNECT_RO)
		rpc_client_set_readonly(call->client);
	g_free(name);
	return RPC_REPLY_NOW;
}

static enum rpc_result p_void(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	(void)call;
	(void)out;
	return no_args(in);
}

static enum rpc_result p_get_type(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	(void)call;
	xdr_put_string(out, "cove");
	return no_args(in);
}

static enum rpc_result p_version(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	(void)call;
	xdr_put_u64(out, cove_version_number());
	return no_args(in);
}

static enum rpc_result p_max_vcpus(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	char *type;

	(void)call;
	if (!xdr_get_opt_string(in, RPC_STRING_MAX, &type))
		return RPC_MALFORMED;
	g_free(type);
	xdr_put_i32(out, COVE_MAX_CPUS);
	return no_args(in);
}

static enum rpc_result p_node_info(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	struct sysinfo si;
	char model[32] = "x86_64";
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t mem_kib = 0;

	(void)call;
	if (!sysinfo(&si))
		mem_kib = (uint64_t)si.totalram * si.mem_unit / 1024;
	/* char model[32]: rpcgen sends each char as a 4-byte word */
	for (int i = 0; i < 32; i++)
		xdr_put_i32(out, model[i]);
	xdr_put_u64(out, mem_kib);
	xdr_put_i32(out, (int32_t)cpus);
	xdr_put_i32(out, 0); /* mhz: unknown */
	xdr_put_i32(out, 1); /* nodes */
	xdr_put_i32(out, 1); /* sockets */
	xdr_put_i32(out, (int32_t)cpus);
	xdr_put_i32(out, 1); /* threads */
	return no_args(in);
}

static enum rpc_result p_hostname(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	(void)call;
	xdr_put_string(out, g_get_host_name());
	return no_args(in);
}

static enum rpc_result p_get_uri(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	(void)call;
	xdr_put_string(out, "cove:///system");
	return no_args(in);
}

static enum rpc_result p_int1(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	(void)call;
	xdr_put_i32(out, 1);
	return no_args(in);
}

static enum rpc_result p_supports(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	int32_t f = xdr_get_i32(in);

	(void)call;
	/* keepalive only: virsh then pings, and we answer even while a call waits */
	xdr_put_i32(out, f == VIR_DRV_FEATURE_PROGRAM_KEEPALIVE);
	return no_args(in);
}

static enum rpc_result p_auth_list(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	(void)call;
	xdr_put_u32(out, 1);
	xdr_put_i32(out, 0); /* REMOTE_AUTH_NONE: the socket's permissions are the policy */
	return no_args(in);
}

static enum rpc_result p_security_model(struct rpc_call *call, struct xdr_dec *in,
					struct xdr_enc *out)
{
	(void)call;
	xdr_put_u32(out, 0); /* model<>: none */
	xdr_put_u32(out, 0); /* doi<> */
	return no_args(in);
}

static bool list_match(const struct domain *d, uint32_t f)
{
	int state, reason;
	bool active = domain_active(d);

	domain_state(d, &state, &reason);
	if ((f & (LIST_ACTIVE | LIST_INACTIVE)) &&
	    !((f & LIST_ACTIVE && active) || (f & LIST_INACTIVE && !active)))
		return false;
	if ((f & (LIST_PERSISTENT | LIST_TRANSIENT)) && !(f & LIST_PERSISTENT))
		return false;
	if (f & (LIST_RUNNING | LIST_PAUSED | LIST_SHUTOFF | LIST_OTHER)) {
		bool m = (f & LIST_RUNNING && state == VIR_DOMAIN_RUNNING) ||
			 (f & LIST_PAUSED && state == VIR_DOMAIN_PAUSED) ||
			 (f & LIST_SHUTOFF && state == VIR_DOMAIN_SHUTOFF) ||
			 (f & LIST_OTHER && state != VIR_DOMAIN_RUNNING &&
			  state != VIR_DOMAIN_PAUSED && state != VIR_DOMAIN_SHUTOFF);

		if (!m)
			return false;
	}
	/* no managed save, autostart, snapshots or checkpoints in cove */
	if ((f & (LIST_MANAGEDSAVE | LIST_NO_MANAGEDSAVE)) && !(f & LIST_NO_MANAGEDSAVE))
		return false;
	if ((f & (LIST_AUTOSTART | LIST_NO_AUTOSTART)) && !(f & LIST_NO_AUTOSTART))
		return false;
	if ((f & (LIST_HAS_SNAPSHOT | LIST_NO_SNAPSHOT)) && !(f & LIST_NO_SNAPSHOT))
		return false;
	if ((f & (LIST_HAS_CHECKPOINT | LIST_NO_CHECKPOINT)) && !(f & LIST_NO_CHECKPOINT))
		return false;
	return true;
}

static enum rpc_result p_list_all(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	int32_t need = xdr_get_i32(in);
	uint32_t flags = xdr_get_u32(in), n = 0;
	GPtrArray *hits;

	if (!xdr_dec_done(in))
		return RPC_MALFORMED;
	hits = g_ptr_array_new();
	for (GList *l = domains_list(set_of(call)); l; l = l->next)
		if (list_match(l->data, flags) && hits->len < REMOTE_DOMAIN_LIST_MAX)
			g_ptr_array_add(hits, l->data);
	n = hits->len;
	xdr_put_u32(out, need ? n : 0);
	for (guint i = 0; need && i < n; i++)
		put_domain(out, hits->pdata[i]);
	xdr_put_u32(out, n);
	g_ptr_array_free(hits, TRUE);
	return RPC_REPLY_NOW;
}

static enum rpc_result p_lookup_id(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	int32_t id = xdr_get_i32(in);
	struct domain *d;

	if (!xdr_dec_done(in))
		return RPC_MALFORMED;
	d = domains_by_id(set_of(call), id);
	if (d)
		put_domain(out, d);
	else
		rpc_call_set_error(call, VIR_ERR_NO_DOMAIN,
				   "Domain not found: no domain with matching id %d", id);
	return RPC_REPLY_NOW;
}

static enum rpc_result p_lookup_name(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	char *name = xdr_get_string(in, RPC_STRING_MAX);
	struct domain *d;

	if (!xdr_dec_done(in)) {
		g_free(name);
		return RPC_MALFORMED;
	}
	d = domains_by_name(set_of(call), name);
	if (d)
		put_domain(out, d);
	else
		rpc_call_set_error(call, VIR_ERR_NO_DOMAIN,
				   "Domain not found: no domain with matching name '%s'", name);
	g_free(name);
	return RPC_REPLY_NOW;
}

static enum rpc_result p_lookup_uuid(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	uint8_t uuid[16];
	struct domain *d;
	char s[37];

	xdr_get_fixed(in, uuid, 16);
	if (!xdr_dec_done(in))
		return RPC_MALFORMED;
	d = domains_by_uuid(set_of(call), uuid);
	if (d) {
		put_domain(out, d);
	} else {
		domain_uuid_format(uuid, s);
		rpc_call_set_error(call, VIR_ERR_NO_DOMAIN,
				   "Domain not found: no domain with matching uuid '%s'", s);
	}
	return RPC_REPLY_NOW;
}

static enum rpc_result define(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out,
			      bool with_flags)
{
	char *xml = xdr_get_string(in, DOMAIN_XML_MAX);
	uint32_t flags = with_flags ? xdr_get_u32(in) : 0;
	GError *err = NULL;
	struct domain *d;
	int code = 0;

	if (!xdr_dec_done(in)) {
		g_free(xml);
		return RPC_MALFORMED;
	}
	/* VIR_DOMAIN_DEFINE_VALIDATE: cove always validates */
	if (flags_ok(call, flags, 1)) {
		d = domains_define(set_of(call), xml, &code, &err);
		if (d) {
			put_domain(out, d);
		} else {
			rpc_call_set_error(call, code, "%s", err->message);
			g_error_free(err);
		}
	}
	g_free(xml);
	return RPC_REPLY_NOW;
}

static enum rpc_result p_define(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	return define(call, in, out, false);
}

static enum rpc_result p_define_flags(struct rpc_call *call, struct xdr_dec *in,
				      struct xdr_enc *out)
{
	return define(call, in, out, true);
}

static enum rpc_result p_undefine(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	uint32_t flags = 0;
	struct domain *d;
	GError *err = NULL;
	int code = 0;

	(void)out;
	DOMAIN_ARGS(call, in, d, call->hdr.proc == PROC_DOMAIN_UNDEFINE_FLAGS ? &flags : NULL,
		    RPC_REPLY_NOW);
	/* managed save, snapshot metadata, nvram, checkpoints: cove keeps none, so the
	 * flags that remove them have nothing to do (VIR_DOMAIN_UNDEFINE_* 1|2|4|8|16|32|64) */
	if (!flags_ok(call, flags, 0x7f))
		return RPC_REPLY_NOW;
	if (!domains_undefine(d, &code, &err)) {
		rpc_call_set_error(call, code, "%s", err->message);
		g_error_free(err);
	}
	return RPC_REPLY_NOW;
}

/* A deferred call ends when the domain operation does. */
static void finish_void(struct domain *d, int code, const char *err, void *data)
{
	struct rpc_call *call = data;

	(void)d;
	if (err)
		rpc_call_set_error(call, code, "%s", err);
	rpc_call_done(call, NULL);
}

static void finish_with_domain(struct domain *d, int code, const char *err, void *data)
{
	struct rpc_call *call = data;
	GByteArray *buf = g_byte_array_new();
	struct xdr_enc e;

	xdr_enc_init(&e, buf);
	if (err)
		rpc_call_set_error(call, code, "%s", err);
	else
		put_domain(&e, d);
	rpc_call_done(call, buf);
	g_byte_array_unref(buf);
}

static enum rpc_result p_create(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	bool with_flags = call->hdr.proc == PROC_DOMAIN_CREATE_WITH_FLAGS;
	uint32_t flags = 0;
	struct domain *d;

	(void)out;
	DOMAIN_ARGS(call, in, d, with_flags ? &flags : NULL, RPC_REPLY_NOW);
	if (!flags_ok(call, flags, 0))
		return RPC_REPLY_NOW;
	domain_start(d, with_flags ? finish_with_domain : finish_void, call);
	return RPC_DEFERRED;
}

static enum rpc_result p_destroy(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	uint32_t flags = 0;
	struct domain *d;

	(void)out;
	DOMAIN_ARGS(call, in, d, call->hdr.proc == PROC_DOMAIN_DESTROY_FLAGS ? &flags : NULL,
		    RPC_REPLY_NOW);
	/* VIR_DOMAIN_DESTROY_GRACEFUL (1): cove always asks politely first */
	if (!flags_ok(call, flags, 1))
		return RPC_REPLY_NOW;
	domain_destroy(d, finish_void, call);
	return RPC_DEFERRED;
}

static enum rpc_result monitor_op(struct rpc_call *call, struct xdr_dec *in, const char *cmd,
				  bool has_flags, uint32_t allowed)
{
	uint32_t flags = 0;
	struct domain *d;

	DOMAIN_ARGS(call, in, d, has_flags ? &flags : NULL, RPC_REPLY_NOW);
	if (!flags_ok(call, flags, allowed))
		return RPC_REPLY_NOW;
	domain_monitor(d, cmd, finish_void, call);
	return RPC_DEFERRED;
}

static enum rpc_result p_shutdown(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	(void)out;
	/* VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN (1) is the only way cove has */
	return monitor_op(call, in, "powerdown", call->hdr.proc == PROC_DOMAIN_SHUTDOWN_FLAGS, 1);
}

static enum rpc_result p_suspend(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	(void)out;
	return monitor_op(call, in, "pause", false, 0);
}

static enum rpc_result p_resume(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	(void)out;
	return monitor_op(call, in, "resume", false, 0);
}

static enum rpc_result p_xml_desc(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	uint32_t flags;
	struct domain *d;
	char *xml;

	DOMAIN_ARGS(call, in, d, &flags, RPC_REPLY_NOW);
	/* SECURE 1, INACTIVE 2, UPDATE_CPU 4, MIGRATABLE 8: one definition, nothing hidden */
	if (!flags_ok(call, flags, 0xf))
		return RPC_REPLY_NOW;
	xml = domain_xml_format(domain_def(d), flags & 2 ? -1 : domain_id(d));
	xdr_put_string(out, xml);
	g_free(xml);
	return RPC_REPLY_NOW;
}

static enum rpc_result p_info(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	struct domain *d;
	int state, reason;

	DOMAIN_ARGS(call, in, d, NULL, RPC_REPLY_NOW);
	domain_state(d, &state, &reason);
	xdr_put_u32(out, (uint32_t)state); /* unsigned char, one XDR word */
	xdr_put_u64(out, domain_def(d)->memory_kib);
	xdr_put_u64(out, domain_active(d) ? domain_def(d)->memory_kib : 0);
	xdr_put_u32(out, domain_def(d)->vcpus); /* unsigned short, one XDR word */
	xdr_put_u64(out, domain_cpu_time_ns(d));
	return RPC_REPLY_NOW;
}

static enum rpc_result p_state(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	uint32_t flags;
	struct domain *d;
	int state, reason;

	DOMAIN_ARGS(call, in, d, &flags, RPC_REPLY_NOW);
	if (!flags_ok(call, flags, 0))
		return RPC_REPLY_NOW;
	domain_state(d, &state, &reason);
	xdr_put_i32(out, state);
	xdr_put_i32(out, reason);
	return RPC_REPLY_NOW;
}

static enum rpc_result p_is_active(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	struct domain *d;

	DOMAIN_ARGS(call, in, d, NULL, RPC_REPLY_NOW);
	xdr_put_i32(out, domain_active(d));
	return RPC_REPLY_NOW;
}

/* is persistent (1), is updated (0), autostart (0), managed save image (0) */
static enum rpc_result dom_int(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out,
			       bool flags, int32_t v)
{
	uint32_t f;
	struct domain *d;

	DOMAIN_ARGS(call, in, d, flags ? &f : NULL, RPC_REPLY_NOW);
	xdr_put_i32(out, v);
	return RPC_REPLY_NOW;
}

static enum rpc_result p_persistent(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	return dom_int(call, in, out, false, 1);
}

static enum rpc_result p_updated(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	return dom_int(call, in, out, false, 0);
}

static enum rpc_result p_autostart(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	return dom_int(call, in, out, false, 0);
}

static enum rpc_result p_managed_save(struct rpc_call *call, struct xdr_dec *in,
				      struct xdr_enc *out)
{
	return dom_int(call, in, out, true, 0);
}

static enum rpc_result p_messages(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	uint32_t flags;
	struct domain *d;

	DOMAIN_ARGS(call, in, d, &flags, RPC_REPLY_NOW);
	xdr_put_u32(out, 0); /* msgs<>: cove taints nothing and deprecates nothing */
	return RPC_REPLY_NOW;
}

/* virsh undefine counts snapshots first; cove has none */
static enum rpc_result p_snapshot_num(struct rpc_call *call, struct xdr_dec *in,
				      struct xdr_enc *out)
{
	return dom_int(call, in, out, true, 0);
}

static enum rpc_result p_dom_vcpus(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	struct domain *d;

	DOMAIN_ARGS(call, in, d, NULL, RPC_REPLY_NOW);
	xdr_put_i32(out, (int32_t)domain_def(d)->vcpus);
	return RPC_REPLY_NOW;
}

/* virsh vcpucount: live, config and maximum are all the definition's count */
static enum rpc_result p_vcpus_flags(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	uint32_t flags;
	struct domain *d;

	DOMAIN_ARGS(call, in, d, &flags, RPC_REPLY_NOW);
	/* VIR_DOMAIN_AFFECT_LIVE 1, AFFECT_CONFIG 2, VCPU_MAXIMUM 4; not VCPU_GUEST 8 */
	if (flags_ok(call, flags, 7))
		xdr_put_i32(out, (int32_t)domain_def(d)->vcpus);
	return RPC_REPLY_NOW;
}

static enum rpc_result p_max_memory(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	struct domain *d;

	DOMAIN_ARGS(call, in, d, NULL, RPC_REPLY_NOW);
	xdr_put_u64(out, domain_def(d)->memory_kib);
	return RPC_REPLY_NOW;
}

static enum rpc_result p_os_type(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	struct domain *d;

	DOMAIN_ARGS(call, in, d, NULL, RPC_REPLY_NOW);
	xdr_put_string(out, "hvm");
	return RPC_REPLY_NOW;
}

static enum rpc_result p_security_label(struct rpc_call *call, struct xdr_dec *in,
					struct xdr_enc *out)
{
	struct domain *d;

	DOMAIN_ARGS(call, in, d, NULL, RPC_REPLY_NOW);
	xdr_put_u32(out, 0); /* label<> */
	xdr_put_i32(out, 0); /* enforcing */
	return RPC_REPLY_NOW;
}

static enum rpc_result p_console(struct rpc_call *call, struct xdr_dec *in, struct xdr_enc *out)
{
	bool malformed;
	struct domain *d = get_domain(call, in, &malformed);
	char *dev = NULL;
	uint32_t flags;
	GError *err = NULL;
	int code = 0;

	(void)out;
	if (!xdr_get_opt_string(in, RPC_STRING_MAX, &dev) || malformed) {
		g_free(dev);
		return RPC_MALFORMED;
	}
	flags = xdr_get_u32(in);
	if (!xdr_dec_done(in)) {
		g_free(dev);
		return RPC_MALFORMED;
	}
	if (!d)
		goto out;
	if (dev && strcmp(dev, "serial0") && strcmp(dev, "console0")) {
		rpc_call_set_error(call, VIR_ERR_INVALID_ARG,
				   "no console '%s' (cove has serial0, also called console0)", dev);
		goto out;
	}
	/* VIR_DOMAIN_CONSOLE_FORCE 1, VIR_DOMAIN_CONSOLE_SAFE 2 */
	if (flags_ok(call, flags, 3) && !domain_open_console(d, call, flags & 1, &code, &err)) {
		rpc_call_set_error(call, code, "%s", err->message);
		g_error_free(err);
	}
out:
	g_free(dev);
	return RPC_REPLY_NOW;
}

const struct rpc_proc coved_procs[] = {
	{ PROC_CONNECT_OPEN, "connect open", p_open, true },
	{ PROC_CONNECT_CLOSE, "connect close", p_void, true },
	{ PROC_CONNECT_GET_TYPE, "connect get type", p_get_type, true },
	{ PROC_CONNECT_GET_VERSION, "connect get version", p_version, true },
	{ PROC_CONNECT_GET_MAX_VCPUS, "connect get max vcpus", p_max_vcpus, true },
	{ PROC_NODE_GET_INFO, "node get info", p_node_info, true },
	{ PROC_DOMAIN_CREATE, "domain create", p_create, false },
	{ PROC_DOMAIN_DEFINE_XML, "domain define xml", p_define, false },
	{ PROC_DOMAIN_DESTROY, "domain destroy", p_destroy, false },
	{ PROC_DOMAIN_GET_XML_DESC, "domain get xml desc", p_xml_desc, true },
	{ PROC_DOMAIN_GET_AUTOSTART, "domain get autostart", p_autostart, true },
	{ PROC_DOMAIN_GET_INFO, "domain get info", p_info, true },
	{ PROC_DOMAIN_GET_MAX_MEMORY, "domain get max memory", p_max_memory, true },
	{ PROC_DOMAIN_GET_MAX_VCPUS, "domain get max vcpus", p_dom_vcpus, true },
	{ PROC_DOMAIN_GET_OS_TYPE, "domain get os type", p_os_type, true },
	{ PROC_DOMAIN_LOOKUP_BY_ID, "domain lookup by id", p_lookup_id, true },
	{ PROC_DOMAIN_LOOKUP_BY_NAME, "domain lookup by name", p_lookup_name, true },
	{ PROC_DOMAIN_LOOKUP_BY_UUID, "domain lookup by uuid", p_lookup_uuid, true },
	{ PROC_DOMAIN_RESUME, "domain resume", p_resume, false },
	{ PROC_DOMAIN_SHUTDOWN, "domain shutdown", p_shutdown, false },
	{ PROC_DOMAIN_SUSPEND, "domain suspend", p_suspend, false },
	{ PROC_DOMAIN_UNDEFINE, "domain undefine", p_undefine, false },
	{ PROC_CONNECT_GET_HOSTNAME, "connect get hostname", p_hostname, true },
	{ PROC_CONNECT_SUPPORTS_FEATURE, "connect supports feature", p_supports, true },
	{ PROC_AUTH_LIST, "auth list", p_auth_list, true },
	{ PROC_CONNECT_GET_URI, "connect get uri", p_get_uri, true },
	{ PROC_DOMAIN_GET_SECURITY_LABEL, "domain get security label", p_security_label, true },
	{ PROC_NODE_GET_SECURITY_MODEL, "node get security model", p_security_model, true },
	{ PROC_CONNECT_IS_SECURE, "connect is secure", p_int1, true },
	{ PROC_DOMAIN_IS_ACTIVE, "domain is active", p_is_active, true },
	{ PROC_DOMAIN_IS_PERSISTENT, "domain is persistent", p_persistent, true },
	{ PROC_CONNECT_GET_LIB_VERSION, "connect get lib version", p_version, true },
	{ PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE, "domain has managed save image", p_managed_save,
	  true },
	{ PROC_DOMAIN_SNAPSHOT_NUM, "domain snapshot num", p_snapshot_num, true },
	{ PROC_DOMAIN_CREATE_WITH_FLAGS, "domain create with flags", p_create, false },
	{ PROC_DOMAIN_GET_VCPUS_FLAGS, "domain get vcpus flags", p_vcpus_flags, true },
	{ PROC_DOMAIN_OPEN_CONSOLE, "domain open console", p_console, false },
	{ PROC_DOMAIN_IS_UPDATED, "domain is updated", p_updated, true },
	{ PROC_DOMAIN_GET_STATE, "domain get state", p_state, true },
	{ PROC_DOMAIN_UNDEFINE_FLAGS, "domain undefine flags", p_undefine, false },
	{ PROC_DOMAIN_DESTROY_FLAGS, "domain destroy flags", p_destroy, false },
	{ PROC_DOMAIN_SHUTDOWN_FLAGS, "domain shutdown flags", p_shutdown, false },
	{ PROC_CONNECT_LIST_ALL_DOMAINS, "connect list all domains", p_list_all, true },
	{ PROC_DOMAIN_DEFINE_XML_FLAGS, "domain define xml flags", p_define_flags, false },
	{ PROC_DOMAIN_GET_MESSAGES, "domain get messages", p_messages, true },
};
const size_t coved_nprocs = G_N_ELEMENTS(coved_procs);
