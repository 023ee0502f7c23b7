/* SPDX-License-Identifier: MIT */
/* Exception dispatch, trap_catch() and user_run(); see trap.h. */
#include "trap.h"
#include "desc.h"

static trap_handler_t handlers[256];
volatile unsigned trap_count[256];

static bool catch_active;
static struct trap_info *catch_info;

void trap_set_handler(unsigned vec, trap_handler_t h)
{
	if (vec < 256)
		handlers[vec] = h;
}

static void fill_info(struct trap_info *ti, const struct trap_frame *f, ulong cr2)
{
	ti->vector = (unsigned)f->vector;
	ti->error = f->error;
	ti->ip = f->ip;
	ti->cs = f->cs;
	ti->flags = f->flags;
	ti->cr2 = cr2;
#ifdef __x86_64__
	ti->sp = f->sp; /* long mode always pushes SS:RSP (SDM Vol.3 §6.14.2) */
	ti->ax = f->rax;
#else
	/* Without a privilege change the CPU pushed no SS:ESP: the old ESP is just above EFLAGS. */
	ti->sp = (f->cs & 3) ? f->sp : (ulong)&f->sp;
	ti->ax = f->eax;
#endif
}

noreturn void trap_unwind(struct trap_frame *f)
{
	if (!catch_active) {
		printf("trap_unwind outside trap_catch (vector %u): FAIL\n", (unsigned)f->vector);
		guest_exit(GUEST_EXIT_FAIL);
	}
	fill_info(catch_info, f, read_cr2());
	catch_active = false;
	trap_catch_unwind();
}

void trap_dispatch(struct trap_frame *f);
void trap_dispatch(struct trap_frame *f)
{
	unsigned vec = (unsigned)f->vector & 0xff;
	ulong cr2 = read_cr2();

	trap_count[vec]++;
	if (handlers[vec]) {
		handlers[vec](f);
		return;
	}
	if (catch_active) {
		fill_info(catch_info, f, cr2);
		catch_active = false;
		trap_catch_unwind();
	}
	/* The ip is the same under every correct VMM for the same binary, so it may be printed. */
	printf("unexpected exception: vector %u error 0x%lx ip 0x%lx cs 0x%lx cr2 0x%lx\n", vec,
	       (ulong)f->error, (ulong)f->ip, (ulong)f->cs, vec == VEC_PF ? cr2 : 0);
	fail("unexpected exception");
	guest_finish();
}

int trap_catch(void (*fn)(void *), void *arg, struct trap_info *ti)
{
	int r;

	memset(ti, 0, sizeof(*ti));
	ti->vector = ~0u;
	catch_info = ti;
	catch_active = true;
	r = trap_catch_call(fn, arg);
	catch_active = false;
	return r;
}

void user_enter(ulong (*fn)(void), void *stack_top);

static void enter_user(void *arg)
{
	user_enter((ulong(*)(void))arg, user_stack_top);
}

int user_run(ulong (*fn)(void), struct trap_info *ti)
{
	trap_catch(enter_user, (void *)fn, ti);
	return ti->vector == VEC_USER_RET ? 0 : 1;
}

static const char *const vec_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#MP", "#TS",
	"#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

static void print_vec(unsigned v)
{
	if (v < 32 && vec_names[v])
		printf("%s", vec_names[v]);
	else
		printf("vector %u", v);
}

bool check_trap(const char *what, int caught, const struct trap_info *ti, unsigned vector,
		ulong error, ulong ip)
{
	bool ok = caught && ti->vector == vector && (error == TRAP_ANY || ti->error == error) &&
		  (ip == TRAP_ANY || ti->ip == ip);

	printf("%s: ", what);
	if (ok) {
		printf("ok\n");
		return true;
	}
	printf("FAIL (");
	if (!caught) {
		printf("no exception");
	} else {
		printf("got ");
		print_vec(ti->vector);
		printf(" err=0x%lx ip=0x%lx", ti->error, ti->ip);
	}
	printf(", want ");
	print_vec(vector);
	if (error != TRAP_ANY)
		printf(" err=0x%lx", error);
	if (ip != TRAP_ANY)
		printf(" ip=0x%lx", ip);
	printf(")\n");
	note_failure();
	return false;
}
