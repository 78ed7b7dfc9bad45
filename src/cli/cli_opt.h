/* cli_opt.h — the one option parser of the voicebox subcommands. A subcommand describes its options as a
 * table (name, alias, kind, where the value goes, its range and the sentence for a bad value) and cli_parse
 * reads argv against it, so every subcommand treats options alike:
 *
 *   --name VALUE and --name=VALUE; flags take no value; "--" ends the options; "-" alone is an argument
 *   (standard input); anything else is a positional argument, kept in order for the caller to check;
 *   --help / -h: the caller prints its usage on stdout and exits 0;
 *   an unknown option or a missing value: one line "voicebox: <cmd>: ...", exit 2 (a usage error);
 *   a bad value: the option's own sentence (or its function's), exit 1 unless the function says otherwise.
 *
 * Nothing here knows any subcommand; cli.h lists them and has cli_error.
 */
#ifndef VOICEBOX_CLI_OPT_H
#define VOICEBOX_CLI_OPT_H

#include <stddef.h>

typedef enum {
    CLI_FLAG, /* no value: *(int *)dest = 1 */
    CLI_STR,  /* *(const char **)dest = the value, borrowed from argv */
    CLI_INT,  /* *(int *)dest = the value: a whole number in [min, max], else `bad` */
    CLI_U64,  /* *(unsigned long long *)dest = the value: a whole number >= 0, else `bad` */
    CLI_FN,   /* fn(value, dest) stores it: 0, or an exit status after printing its own one-line error */
} cli_opt_kind;

typedef struct {
    const char *name;  /* "--model" */
    const char *alias; /* another spelling ("-o"), or NULL */
    cli_opt_kind kind;
    void *dest;
    long min, max;   /* CLI_INT */
    const char *bad; /* CLI_INT, CLI_U64: the one-line error for a bad value, with one %s for the value */
    int (*fn)(const char *value, void *dest);
} cli_opt;

/* One table row each. */
#define CLI_FLAG_OPT(nm, d)                                                                                  \
    {                                                                                                        \
        .name = (nm), .kind = CLI_FLAG, .dest = (d)                                                          \
    }
#define CLI_STR_OPT(nm, al, d)                                                                               \
    {                                                                                                        \
        .name = (nm), .alias = (al), .kind = CLI_STR, .dest = (d)                                            \
    }
#define CLI_INT_OPT(nm, d, lo, hi, b)                                                                        \
    {                                                                                                        \
        .name = (nm), .kind = CLI_INT, .dest = (d), .min = (lo), .max = (hi), .bad = (b)                     \
    }
#define CLI_U64_OPT(nm, d, b)                                                                                \
    {                                                                                                        \
        .name = (nm), .kind = CLI_U64, .dest = (d), .bad = (b)                                               \
    }
#define CLI_FN_OPT(nm, d, f)                                                                                 \
    {                                                                                                        \
        .name = (nm), .kind = CLI_FN, .dest = (d), .fn = (f)                                                 \
    }

/* A CLI_FN for --precision bf16|int8: dest is a qt_precision; a bad value is "--precision: ..." and exit 2.
 */
int cli_precision_opt(const char *value, void *dest);

/* The directory --weights-cache names for int8 weights kept between runs: `opt` itself, NULL for "none",
 * and when not given $XDG_CACHE_HOME/voicebox, else $HOME/.cache/voicebox (NULL without either), made here
 * when missing. buf holds the default. */
const char *cli_weights_cache(const char *opt, char *buf, size_t n);

#define CLI_HELP (-1) /* cli_parse's answer to --help / -h */

/* Reads argv[1..argc) (argv[0] is the subcommand) against opts[0..n_opts). cmd prefixes the usage errors
 * ("prompt create"). Positional arguments go to pos (room for argc of them), their count to *n_pos.
 * Returns 0, CLI_HELP, or the exit status after an error was printed. */
int cli_parse(const char *cmd, int argc, char **argv, const cli_opt *opts, size_t n_opts, const char **pos,
              int *n_pos);

#endif
