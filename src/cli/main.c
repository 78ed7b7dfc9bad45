/* main.c — `voicebox <command> ...`: finds the subcommand and hands it the rest of argv. */
#include "cli/cli.h"

#include "engine/qt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
} command;

static const command commands[] = {
    {"serve", cli_serve,
     "serve [--host H] [--port P] [--data-dir D] [--log-file F]  run the studio's HTTP API"},
    {"say", cli_say,
     "say --model DIR (--ref WAV --ref-text T | --prompt P) --text T -o OUT.wav  speak in a cloned voice"},
    {"profiles", cli_profiles,
     "profiles list|create|samples|add-sample|delete  voice profiles and their samples"},
    {"history", cli_history, "history list [--profile P] [--search T]  past generations"},
    {"models", cli_models, "models list|pull NAME|rm NAME  the TTS models in the Hugging Face cache"},
    {"prompt", cli_prompt,
     "prompt create --model DIR --ref WAV (--ref-text T | --xvector-only) -o P | prompt show [--json] P  "
     "voice prompt files"},
    {"codec", cli_codec,
     "codec encode|decode --model DIR ...  the speech tokenizer: audio <-> 16 codes per 80 ms frame"},
    {"transcribe", cli_transcribe,
     "transcribe --model DIR|REPO AUDIO [--language en] [--json]  the words of a recording (Whisper)"},
    {"tokenize", cli_tokenize,
     "tokenize [--model M] TEXT     print the token ids of TEXT (--decode ID... back)"},
    {"bench", cli_bench, "bench --model DIR [--frames 125] [--threads N]  generation speed, bandwidth, RSS"},
    {"dev", cli_dev, "dev inspect DIR | dev random-model --shape S --seed N --out DIR  model-file tools"},
    {"version", cli_version, "version                      print the version"},
};

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("voicebox: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("voicebox %s\n", VOICEBOX_VERSION);
    printf("kernels %s, int8 kernels %s, BLAS OpenBLAS %s\n", qt_kernels_name(), qt_int8_kernels_name(),
           qt_blas_kernels());
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: voicebox <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %s\n", commands[i].usage);
    fprintf(out, "\n`voicebox <command> --help` for a command's options.\n");
}

/* An OpenBLAS older than the CPU runs its generic kernels, several times slower (engine/blas.c): start again
 * with the kernels that fit. Once only: the variable is set from then on, and one a user set is kept. When
 * the restart fails, the run goes on, slower. */
static void blas_fit_cpu(char **argv)
{
    const char *fit = qt_blas_kernels_fit();
    if (!fit || getenv("OPENBLAS_CORETYPE")) return;
    if (setenv("OPENBLAS_CORETYPE", fit, 1)) return;
    execv("/proc/self/exe", argv);
}

int main(int argc, char **argv)
{
    blas_fit_cpu(argv);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) return cli_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "voicebox: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
