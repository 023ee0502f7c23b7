/* SPDX-License-Identifier: MIT */
/* The end of every Check suite's main(): run it, say how it went, exit 0 only if all passed. */
#ifndef COVE_TESTS_CHECK_MAIN_H
#define COVE_TESTS_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

static inline int cove_check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
