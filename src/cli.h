/* SPDX-License-Identifier: MIT */
#ifndef COVE_CLI_H
#define COVE_CLI_H

/* Exit statuses besides 0 and the debug-exit port's odd values (cove(1)). */
#define CLI_EXIT_BAD_INPUT     2
#define CLI_EXIT_GUEST_FAILED  4

int cli_main(int argc, char **argv);

#endif
