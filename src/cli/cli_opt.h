/* cli_opt.h — option parsing the subcommands share (cli.h is the list of subcommands and cli_error). */
#ifndef VOICEBOX_CLI_OPT_H
#define VOICEBOX_CLI_OPT_H

/* If argv[*i] is `name VALUE` or `name=VALUE`, sets *value (borrowed from argv), advances *i past what it
 * took and returns 1; -1 when the value is missing; 0 when argv[*i] is another argument. */
int cli_take_opt(int argc, char **argv, int *i, const char *name, const char **value);

#endif
