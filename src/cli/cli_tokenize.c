/* cli_tokenize.c — `voicebox tokenize --model DIR "text"`: the text's token ids, space-separated on one line,
 * exactly as the model's tokenizer gives them (special tokens written in the text count as such).
 * `--decode ID...` goes the other way. For checking the tokenizer against other tools; nothing else. */
#include "cli/cli.h"
#include "cli/cli_opt.h"
#include "engine/qt.h"
#include "studio/rules.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE *out)
{
    fprintf(out,
            "usage: voicebox tokenize [--model DIR|REPO] TEXT        print TEXT's token ids\n"
            "       voicebox tokenize [--model DIR|REPO] -            ... of standard input\n"
            "       voicebox tokenize [--model DIR|REPO] --decode ID...  print the text of ids\n"
            "DIR is a model directory (or a tokenizer.json), REPO a Hub repo id in the Hugging Face cache;\n"
            "the default is %s.\n",
            studio_model_default()->repo_id);
    return out == stdout ? 0 : 2;
}

static char *read_stdin(void)
{
    size_t n = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, stdin);
        if (ferror(stdin) || feof(stdin)) break;
        if (cap - n < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) free(buf);
            buf = nb;
            cap *= 2;
        }
    }
    if (buf && ferror(stdin)) {
        free(buf);
        return NULL;
    }
    if (buf) buf[n] = 0;
    return buf;
}

static int print_decoded(const qt_tokenizer *t, int n, const char **args)
{
    int32_t *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
    if (!ids) return cli_error("out of memory");
    for (int i = 0; i < n; i++) {
        char *end;
        errno = 0;
        long v = strtol(args[i], &end, 10);
        if (!*args[i] || *end || errno || v < 0 || v > INT32_MAX) {
            free(ids);
            return cli_error("'%s' is not a token id", args[i]);
        }
        ids[i] = (int32_t)v;
    }
    qt_error err = {0};
    char *text = qt_detokenize(t, ids, (size_t)n, &err);
    free(ids);
    if (!text) return cli_error("%s", err.msg);
    printf("%s\n", text);
    free(text);
    return 0;
}

int cli_tokenize(int argc, char **argv)
{
    const char *model = studio_model_default()->repo_id, *text = NULL;
    int decode = 0;
    const cli_opt opts[] = {
        CLI_STR_OPT("--model", NULL, &model),
        CLI_FLAG_OPT("--decode", &decode), /* the arguments are then ids */
    };
    const char *pos[argc > 0 ? argc : 1];
    int n_pos;
    int r = cli_parse("tokenize", argc, argv, opts, sizeof opts / sizeof opts[0], pos, &n_pos);
    if (r == CLI_HELP) return usage(stdout);
    if (r) return r;
    if (!decode && n_pos > 1) return cli_error("one TEXT only (quote it)");
    if (!decode && n_pos == 0) return usage(stderr);
    if (!decode) text = pos[0];

    qt_error err = {0};
    char dir[4096];
    /* a tokenizer.json file is taken as it is; anything else goes through the model resolver */
    size_t ml = strlen(model);
    if (ml >= 15 && !strcmp(model + ml - 15, "/tokenizer.json"))
        snprintf(dir, sizeof dir, "%s", model);
    else if (qt_resolve_model_dir(model, dir, sizeof dir, &err))
        return cli_error("%s", err.msg);
    qt_tokenizer *t = qt_tokenizer_load(dir, &err);
    if (!t) return cli_error("%s", err.msg);

    int rc = 0;
    if (decode) {
        rc = print_decoded(t, n_pos, pos);
        qt_tokenizer_free(t);
        return rc;
    }
    char *input = NULL;
    if (!strcmp(text, "-")) {
        if (!(input = read_stdin())) {
            qt_tokenizer_free(t);
            return cli_error("cannot read standard input");
        }
        text = input;
    }
    int32_t *ids = NULL;
    size_t n = 0;
    if (qt_tokenize(t, text, &ids, &n, &err)) {
        rc = cli_error("%s", err.msg);
    } else {
        for (size_t i = 0; i < n; i++)
            printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    }
    free(ids);
    free(input);
    qt_tokenizer_free(t);
    return rc;
}
