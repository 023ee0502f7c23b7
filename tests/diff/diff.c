// SPDX-License-Identifier: MIT
/*
 * diff-test: random instruction sequences on the host CPU and in the soft
 * CPU, compared register by register, flag by flag (less the flags the SDM
 * leaves undefined) and byte by byte over the data and stack pages.
 *
 *   diff-test [--seed S] [--count N | --instructions I] [--seq-len L]
 *             [--only K] [--exclude MNEMONIC,...] [--max-reports R]
 *             [--list 1] [--stats 1]
 *
 * Sequence k is generated from (seed, k) alone, so --seed S --only K replays
 * one sequence of a failing run.
 */
#include <cpuid.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diff.h"

static const char *const reg_names[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15",
};

struct opts {
	uint64_t seed;
	uint64_t count;	       /* sequences; 0: until instructions */
	uint64_t instructions; /* at least this many */
	uint64_t only;	       /* run only sequence only - 1 */
	unsigned max_reports;
	bool list;  /* print every sequence */
	bool stats; /* print how often each mnemonic was generated */
	struct diff_gen_opts gen;
};

static int parse_u64(const char *opt, const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno || !*s || *end) {
		fprintf(stderr, "diff-test: %s %s: not a number\n", opt, s);
		return -1;
	}
	return 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
	bool seeded = false;

	for (int k = 1; k < argc; k++) {
		const char *a = argv[k], *v = k + 1 < argc ? argv[k + 1] : NULL;
		uint64_t n;

		if (!strcmp(a, "--exclude") && v) {
			char *list = strdup(v), *save = NULL;

			for (char *t = strtok_r(list, ",", &save); t;
			     t = strtok_r(NULL, ",", &save)) {
				o->gen.exclude = realloc(o->gen.exclude,
							 (o->gen.nexclude + 1) * sizeof(char *));
				o->gen.exclude[o->gen.nexclude++] = t;
			}
		} else if (!v || a[0] != '-' || a[1] != '-') {
			fprintf(stderr, "diff-test: %s: unknown option or missing value\n", a);
			return -1;
		} else if (parse_u64(a, v, &n)) {
			return -1;
		} else if (!strcmp(a, "--seed")) {
			o->seed = n;
			seeded = true;
		} else if (!strcmp(a, "--count")) {
			o->count = n;
		} else if (!strcmp(a, "--instructions")) {
			o->instructions = n;
		} else if (!strcmp(a, "--seq-len")) {
			if (n < 1 || n > DIFF_MAX_INSNS / 8) {
				fprintf(stderr, "diff-test: --seq-len %s: out of range (1..%d)\n",
					v, DIFF_MAX_INSNS / 8);
				return -1;
			}
			o->gen.seq_len = (unsigned)n;
		} else if (!strcmp(a, "--only")) {
			o->only = n + 1;
		} else if (!strcmp(a, "--list")) {
			o->list = n;
		} else if (!strcmp(a, "--stats")) {
			o->stats = n;
		} else if (!strcmp(a, "--max-reports")) {
			o->max_reports = (unsigned)n;
		} else {
			fprintf(stderr, "diff-test: %s: unknown option\n", a);
			return -1;
		}
		k++;
	}
	if (!seeded) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		o->seed = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec;
	}
	return 0;
}

static void host_features(struct diff_gen_opts *g)
{
	unsigned a, b, c, d;

	if (__get_cpuid(1, &a, &b, &c, &d))
		g->has_popcnt = c & (1u << 23);
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
		g->has_tzcnt = b & (1u << 3); /* BMI1 */
	if (__get_cpuid(0x80000001, &a, &b, &c, &d)) {
		g->has_lahf = c & (1u << 0);
		g->has_lzcnt = c & (1u << 5); /* ABM */
	}
}

static void print_flags(uint64_t f)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} fl[] = { { DIFF_OF, "OF" }, { DIFF_DF, "DF" }, { DIFF_SF, "SF" }, { DIFF_ZF, "ZF" },
		   { DIFF_AF, "AF" }, { DIFF_PF, "PF" }, { DIFF_CF, "CF" } };

	printf("%#06" PRIx64 " [", f);
	for (unsigned k = 0; k < sizeof(fl) / sizeof(fl[0]); k++)
		printf(" %s", f & fl[k].bit ? fl[k].name : "--");
	printf(" ]");
}

static void print_listing(const struct diff_seq *s, uint64_t rip, int where)
{
	for (unsigned k = 0; k < s->n; k++) {
		char text[128], bytes[64] = "";
		unsigned len = s->off[k + 1] - s->off[k];

		for (unsigned b = 0; b < len; b++)
			snprintf(bytes + 3 * b, sizeof(bytes) - 3 * b, "%02x ",
				 s->code[s->off[k] + b]);
		diff_disasm(s->code + s->off[k], len, rip + s->off[k], text, sizeof(text), NULL);
		printf("  %s%3u %#" PRIx64 ": %-45s %s\n", (int)k == where ? "=>" : "  ", k,
		       rip + s->off[k], bytes, text);
	}
}

static void report(const struct opts *o, uint64_t index, const struct diff_seq *s, uint64_t rip,
		   const struct diff_regs *nat, const uint8_t *nmem, const struct diff_regs *soft,
		   const uint8_t *smem, uint64_t fmask, const char *why, int where)
{
	printf("MISMATCH seed %" PRIu64 " sequence %" PRIu64 ": %s (replay: --seed %" PRIu64
	       " --only %" PRIu64 " --seq-len %u)\n",
	       o->seed, index, why, o->seed, index, o->gen.seq_len);
	for (unsigned e = 0; e < o->gen.nexclude; e++)
		printf("%s%s", e ? "," : "  with --exclude ", o->gen.exclude[e]);
	if (o->gen.nexclude)
		printf("\n");
	print_listing(s, rip, where);
	printf("  %-4s %-18s %-18s %-18s\n", "", "initial", "host", "soft");
	for (unsigned r = 0; r < 16; r++)
		printf("  %-4s %016" PRIx64 "   %016" PRIx64 "   %016" PRIx64 "%s\n", reg_names[r],
		       s->init.gpr[r], nat ? nat->gpr[r] : 0, soft ? soft->gpr[r] : 0,
		       nat && soft && nat->gpr[r] != soft->gpr[r] ? "  <-- differs" : "");
	printf("  flags initial ");
	print_flags(s->init.rflags);
	printf("\n  flags host    ");
	print_flags(nat ? nat->rflags : 0);
	printf("\n  flags soft    ");
	print_flags(soft ? soft->rflags : 0);
	printf("\n  compared      ");
	print_flags(fmask);
	printf("\n");
	for (unsigned x = 0; x < 16; x++) {
		const uint8_t *v[3] = { s->init.xmm[x], nat ? nat->xmm[x] : NULL,
					soft ? soft->xmm[x] : NULL };

		printf("  xmm%-2u", x);
		for (unsigned k = 0; k < 3; k++) {
			uint64_t lo = 0, hi = 0;

			if (v[k]) {
				memcpy(&lo, v[k], 8);
				memcpy(&hi, v[k] + 8, 8);
			}
			printf(" %016" PRIx64 "%016" PRIx64, hi, lo);
		}
		printf("%s\n",
		       nat && soft && memcmp(nat->xmm[x], soft->xmm[x], 16) ? "  <-- differs" : "");
	}
	printf("  mxcsr initial %#06x host %#06x soft %#06x%s\n", s->init.mxcsr,
	       nat ? nat->mxcsr : 0, soft ? soft->mxcsr : 0,
	       nat && soft && nat->mxcsr != soft->mxcsr ? "  <-- differs" : "");
	if (nat && soft) {
		for (unsigned k = 0; k < 8; k++) {
			uint64_t nm, sm;
			uint16_t ne, se;

			memcpy(&nm, nat->st[k], 8);
			memcpy(&ne, nat->st[k] + 8, 2);
			memcpy(&sm, soft->st[k], 8);
			memcpy(&se, soft->st[k] + 8, 2);
			printf("  st%u   host %04x:%016" PRIx64 " soft %04x:%016" PRIx64 "%s\n", k,
			       ne, nm, se, sm,
			       memcmp(nat->st[k], soft->st[k], 10) ? "  <-- differs" : "");
		}
		printf("  fcw host %#06x soft %#06x, fsw host %#06x soft %#06x, ftw host %#04x "
		       "soft "
		       "%#04x\n",
		       nat->fcw, soft->fcw, nat->fsw, soft->fsw, nat->ftw, soft->ftw);
	}
	if (nmem && smem) {
		unsigned shown = 0;

		for (unsigned k = 0; k < DIFF_MEM_SIZE; k++) {
			if (nmem[k] == smem[k])
				continue;
			if (shown++ < 64)
				printf("  mem %#" PRIx64 ": initial %02x host %02x soft %02x\n",
				       (uint64_t)(DIFF_MEM + k), s->mem[k], nmem[k], smem[k]);
		}
		if (shown > 64)
			printf("  ... %u differing bytes in all\n", shown);
	}
}

struct run {
	struct diff_regs nat, soft;
	uint8_t nmem[DIFF_MEM_SIZE], smem[DIFF_MEM_SIZE];
	uint64_t fmask;
	char why[200];
	unsigned where;
	int native_sig, soft_err;
};

/* Runs s both ways; true when they agree. */
static bool run_both(struct diff_soft *soft, const struct diff_seq *s, uint64_t rip, struct run *r)
{
	r->where = 0;
	r->soft_err = 0;
	r->native_sig = diff_native_run(s, &r->nat, r->nmem);
	if (r->native_sig) {
		snprintf(r->why, sizeof(r->why), "the host run died of signal %d (generator bug)",
			 r->native_sig);
		return false;
	}
	r->soft_err =
		diff_soft_run(soft, s, rip, &r->soft, r->smem, &r->where, r->why, sizeof(r->why));
	r->fmask = (DIFF_ARITH & ~s->undef) | DIFF_DF;
	if (r->soft_err)
		return false;
	snprintf(r->why, sizeof(r->why), "final state differs");
	return !memcmp(r->nat.gpr, r->soft.gpr, sizeof(r->nat.gpr)) &&
	       !((r->nat.rflags ^ r->soft.rflags) & r->fmask) &&
	       !memcmp(r->nat.xmm, r->soft.xmm, sizeof(r->nat.xmm)) &&
	       r->nat.mxcsr == r->soft.mxcsr && !memcmp(r->nat.st, r->soft.st, sizeof(r->nat.st)) &&
	       r->nat.fcw == r->soft.fcw && r->nat.fsw == r->soft.fsw &&
	       r->nat.ftw == r->soft.ftw && !memcmp(r->nmem, r->smem, DIFF_MEM_SIZE);
}

/*
 * The first group whose prefix of the sequence already differs: where the
 * bug is (an earlier instruction may still have set up its inputs).
 */
static int first_bad_group(struct diff_soft *soft, const struct diff_seq *s, uint64_t rip)
{
	static struct diff_seq p;
	static struct run r;

	for (unsigned g = 0; g < s->ngroups; g++) {
		p = *s;
		p.n = s->group_end[g];
		p.len = s->off[p.n];
		p.undef = s->group_undef[g];
		if (!run_both(soft, &p, rip, &r))
			return (int)s->group_end[g] - 1;
	}
	return -1;
}

/* --stats: mnemonics by how often they were generated (setup instructions included). */
static struct {
	const char *name;
	uint64_t n;
} stats[2048];
static unsigned nstats;

static void count_mnemonics(const struct diff_seq *s)
{
	for (unsigned k = 0; k < s->n; k++) {
		const char *mn = NULL;
		char text[128];
		unsigned j;

		diff_disasm(s->code + s->off[k], s->off[k + 1] - s->off[k], 0, text, sizeof(text),
			    &mn);
		if (!mn)
			continue;
		for (j = 0; j < nstats && strcmp(stats[j].name, mn); j++)
			;
		if (j == nstats && nstats < sizeof(stats) / sizeof(stats[0]))
			stats[nstats++].name = mn;
		if (j < nstats)
			stats[j].n++;
	}
}

static int by_count(const void *a, const void *b)
{
	const __typeof__(stats[0]) *x = a, *y = b;

	return x->n < y->n ? 1 : x->n > y->n ? -1 : strcmp(x->name, y->name);
}

static void print_stats(void)
{
	qsort(stats, nstats, sizeof(stats[0]), by_count);
	printf("diff-test: %u mnemonics generated:\n", nstats);
	for (unsigned j = 0; j < nstats; j++)
		printf("  %-10s %" PRIu64 "\n", stats[j].name, stats[j].n);
}

int main(int argc, char **argv)
{
	struct opts o = { .instructions = 1000000, .max_reports = 10, .gen = { .seq_len = 16 } };
	static struct diff_seq s;
	static struct run run;
	uint64_t passed = 0, failed = 0, insns = 0, seqs = 0, rip;
	struct diff_soft *soft;
	unsigned reports = 0;

	if (parse(argc, argv, &o))
		return 2;
	printf("diff-test: seed %" PRIu64 "\n", o.seed);
	fflush(stdout);
	host_features(&o.gen);
	if (diff_native_init())
		return 2;
	soft = diff_soft_new();
	if (!soft) {
		fprintf(stderr, "diff-test: out of memory\n");
		return 2;
	}
	rip = diff_native_seq_rip();
	printf("diff-test: host has%s%s%s%s\n", o.gen.has_popcnt ? " popcnt" : "",
	       o.gen.has_tzcnt ? " tzcnt" : "", o.gen.has_lzcnt ? " lzcnt" : "",
	       o.gen.has_lahf ? " lahf/sahf" : "");

	for (uint64_t k = o.only ? o.only - 1 : 0;; k++) {
		uint64_t rng = o.seed ^ (k * 0xd1342543de82ef95ull);
		int culprit;

		if (o.only ? seqs == 1 : o.count ? seqs >= o.count : insns >= o.instructions)
			break;
		diff_rand(&rng);
		if (diff_gen(&s, &rng, &o.gen)) {
			fprintf(stderr, "diff-test: the exclusions leave nothing to generate\n");
			return 2;
		}
		seqs++;
		insns += s.n;
		if (o.list) {
			printf("sequence %" PRIu64 ":\n", k);
			print_listing(&s, rip, -1);
		}
		if (o.stats)
			count_mnemonics(&s);
		if (run_both(soft, &s, rip, &run)) {
			passed++;
			continue;
		}
		failed++;
		culprit = first_bad_group(soft, &s, rip);
		if (culprit >= 0) {
			char text[128];

			diff_disasm(s.code + s.off[culprit], s.off[culprit + 1] - s.off[culprit],
				    rip + s.off[culprit], text, sizeof(text), NULL);
			printf("FAIL sequence %" PRIu64 ": %s; first differs after %u: %s\n", k,
			       run.why, (unsigned)culprit, text);
		} else {
			printf("FAIL sequence %" PRIu64 ": %s\n", k, run.why);
		}
		if (reports++ < o.max_reports)
			report(&o, k, &s, rip, run.native_sig ? NULL : &run.nat,
			       run.native_sig ? NULL : run.nmem,
			       run.native_sig || run.soft_err ? NULL : &run.soft,
			       run.native_sig || run.soft_err ? NULL : run.smem, run.fmask, run.why,
			       run.soft_err ? (int)run.where : culprit);
	}
	printf("diff-test: %" PRIu64 " sequences, %" PRIu64 " instructions\n", seqs, insns);
	if (o.stats)
		print_stats();
	printf("%" PRIu64 " passed, %" PRIu64 " failed\n", passed, failed);
	diff_soft_free(soft);
	return failed ? 1 : 0;
}
