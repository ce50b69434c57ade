/* tests/unit/test_fixtures_core.c: runs the packet fixture table through the forwarding core (lb_decide + lb_encap) over the array engine. Userspace only.
 *
 * Every fixture gets fresh tables loaded from the fixture world, so no
 * result depends on what ran before (conntrack holds only the world's
 * entries). LB_TX frames are grown at the front by outer_len, as an engine
 * does, before lb_encap() writes the outer headers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/fixtures/world_mem.h"
#include "common/pipeline.h"

/* Frames start 2 bytes into 4-aligned memory, as NIC drivers place them
 * (NET_IP_ALIGN), so the IP header after Ethernet is 4-aligned. */
#define FRAME_ALIGN_OFF 2

struct core_run {
	struct lb_result r;
	__u8 *base; /* allocation */
	__u8 *frame; /* what the engine ends with */
	size_t len;
};

/* Decides, and for LB_TX grows the frame and encapsulates. */
static int core_run(struct lb_tables *t, const struct fixture *f,
		    struct core_run *run)
{
	const struct lb_config *cfg = &t->cfg;
	size_t grow, room = f->in_len + 64;

	/* Room for the largest outer header (a multiple of 4) in front. */
	run->base = malloc(room + FRAME_ALIGN_OFF);
	if (!run->base)
		return -ENOMEM;
	memcpy(run->base + FRAME_ALIGN_OFF + 64, f->in, f->in_len);
	lb_decide(t, cfg, run->base + FRAME_ALIGN_OFF + 64,
		  run->base + FRAME_ALIGN_OFF + 64 + f->in_len, &run->r);
	grow = run->r.verdict == LB_TX ? run->r.outer_len : 0;
	run->len = f->in_len + grow;
	run->frame = run->base + FRAME_ALIGN_OFF + 64 - grow;
	if (run->r.verdict == LB_TX &&
	    lb_encap(run->frame, run->frame + run->len, &run->r, cfg))
		lb_finish(&run->r, LB_DROP, LB_R_DROP_ENCAP);
	return 0;
}

static int core_check(const struct fixture *f, const struct core_run *run)
{
	int bad = 0;

	if (run->r.verdict != f->verdict || run->r.reason != f->reason) {
		fprintf(stderr, "%s: want %s/%s, got %s/%s\n", f->name,
			fixture_verdict_name(f->verdict),
			fixture_reason_name(f->reason),
			fixture_verdict_name(run->r.verdict),
			fixture_reason_name(run->r.reason));
		bad = 1;
	}
	if (f->verdict == LB_TX && run->r.verdict == LB_TX &&
	    run->r.backend_id != f->backend) {
		fprintf(stderr, "%s: want backend %u, got %u\n", f->name,
			f->backend, run->r.backend_id);
		bad = 1;
	}
	if (run->len != f->out_len || memcmp(run->frame, f->out, run->len)) {
		fixture_hexdiff(f->name, f->out, f->out_len, run->frame,
				run->len);
		bad = 1;
	}
	return bad;
}

static void test_fixture(void **state)
{
	const struct fixture *f = *state;
	struct lb_tables *t = mem_tables_new();
	struct core_run run = { 0 };
	int bad;

	assert_non_null(t);
	assert_int_equal(fixtures_world_to_mem(fixtures_world(), t), 0);
	assert_int_equal(core_run(t, f, &run), 0);
	bad = core_check(f, &run);
	free(run.base);
	mem_tables_free(t);
	assert_int_equal(bad, 0);
}

/* The table itself: enough cases, unique names, outputs as the contract
 * says (PASS / DROP: the input unchanged). */
static struct fixture *all;
static int nall;

static void test_table_shape(void **state)
{
	int i, j;

	(void)state;
	assert_true(nall >= 40);
	for (i = 0; i < nall; i++) {
		for (j = i + 1; j < nall; j++)
			assert_string_not_equal(all[i].name, all[j].name);
		if (all[i].verdict != LB_TX) {
			assert_int_equal(all[i].in_len, all[i].out_len);
			assert_memory_equal(all[i].in, all[i].out,
					    all[i].in_len);
		}
	}
}

int main(void)
{
	struct CMUnitTest *tests;
	int i, rc;

	nall = fixtures_build(&all);
	if (nall < 0) {
		fprintf(stderr, "fixtures_build: %s\n", strerror(-nall));
		return 1;
	}
	tests = calloc((size_t)nall + 1, sizeof(*tests));
	if (!tests)
		return 1;
	tests[0].name = "table_shape";
	tests[0].test_func = test_table_shape;
	for (i = 0; i < nall; i++) {
		tests[i + 1].name = all[i].name;
		tests[i + 1].test_func = test_fixture;
		tests[i + 1].initial_state = &all[i];
	}
	rc = _cmocka_run_group_tests("fixtures_core", tests, (size_t)nall + 1,
				     NULL, NULL);
	free(tests);
	fixtures_free(all, nall);
	return rc;
}
