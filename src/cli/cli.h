/* cli.h — the voicebox subcommands. Each lives in its own cli_<name>.c and is listed in main.c's table.
 * A subcommand gets argv starting at its own name, prints errors as one line on stderr ("voicebox: ...")
 * and returns the process exit status. */
#ifndef VOICEBOX_CLI_H
#define VOICEBOX_CLI_H

int cli_version(int argc, char **argv);
int cli_bench(int argc, char **argv);  /* cli_bench.c */
int cli_say(int argc, char **argv);    /* cli_say.c */
int cli_prompt(int argc, char **argv); /* cli_prompt.c */
int cli_serve(int argc, char **argv);
int cli_profiles(int argc, char **argv);
int cli_history(int argc, char **argv);
int cli_models(int argc, char **argv);
int cli_dev(int argc, char **argv);
int cli_tokenize(int argc, char **argv);
int cli_codec(int argc, char **argv);      /* cli_codec.c */
int cli_transcribe(int argc, char **argv); /* cli_transcribe.c */

/* Prints "voicebox: <message>" on stderr and returns 1, for `return cli_error("...")`. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
