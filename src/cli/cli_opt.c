/* cli_opt.c — see cli_opt.h. */
#include "cli/cli_opt.h"
#include "cli/cli.h"
#include "engine/qt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EXIT_USAGE 2

/* The row whose name or alias is arg (up to an '=' when the option is written --name=VALUE). */
static const cli_opt *find(const cli_opt *opts, size_t n_opts, const char *arg, size_t len)
{
    for (size_t i = 0; i < n_opts; i++)
        if ((strlen(opts[i].name) == len && !strncmp(opts[i].name, arg, len)) ||
            (opts[i].alias && strlen(opts[i].alias) == len && !strncmp(opts[i].alias, arg, len)))
            return &opts[i];
    return NULL;
}

static int store(const cli_opt *o, const char *v)
{
    char *end = NULL;
    errno = 0;
    switch (o->kind) {
    case CLI_STR:
        *(const char **)o->dest = v;
        return 0;
    case CLI_INT: {
        long n = strtol(v, &end, 10);
        if (!*v || *end || errno || n < o->min || n > o->max) return cli_error(o->bad, v);
        *(int *)o->dest = (int)n;
        return 0;
    }
    case CLI_U64: {
        unsigned long long n = strtoull(v, &end, 10);
        if (!*v || *end || errno || *v == '-') return cli_error(o->bad, v);
        *(unsigned long long *)o->dest = n;
        return 0;
    }
    case CLI_FN:
        return o->fn(v, o->dest);
    case CLI_FLAG:
        break;
    }
    return 0;
}

int cli_precision_opt(const char *value, void *dest)
{
    qt_error err = {0};
    if (qt_precision_parse(value, dest, &err) == 0) return 0;
    cli_error("--precision: %s", err.msg);
    return 2;
}

const char *cli_weights_cache(const char *opt, char *buf, size_t n)
{
    if (opt) return strcmp(opt, "none") ? opt : NULL;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(buf, n, "%s", xdg);
    else if (home && *home)
        snprintf(buf, n, "%s/.cache", home);
    else
        return NULL;
    mkdir(buf, 0755); /* the engine writes into an existing folder; failing here only means no cache */
    size_t len = strlen(buf);
    snprintf(buf + len, n - len, "/voicebox");
    mkdir(buf, 0755);
    return buf;
}

int cli_parse(const char *cmd, int argc, char **argv, const cli_opt *opts, size_t n_opts, const char **pos,
              int *n_pos)
{
    *n_pos = 0;
    int options = 1; /* until "--" */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!options || a[0] != '-' || a[1] == '\0') {
            pos[(*n_pos)++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            options = 0;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return CLI_HELP;
        const char *eq = strncmp(a, "--", 2) ? NULL : strchr(a, '=');
        const cli_opt *o = find(opts, n_opts, a, eq ? (size_t)(eq - a) : strlen(a));
        if (!o) {
            cli_error("%s: unknown option '%s' (see voicebox %s --help)", cmd, a, cmd);
            return EXIT_USAGE;
        }
        if (o->kind == CLI_FLAG) {
            if (eq) {
                cli_error("%s: %s takes no value", cmd, o->name);
                return EXIT_USAGE;
            }
            *(int *)o->dest = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (!v) {
            cli_error("%s: %s needs a value", cmd, a);
            return EXIT_USAGE;
        }
        int rc = store(o, v);
        if (rc) return rc;
    }
    return 0;
}
