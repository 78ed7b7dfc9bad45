/* cli_history.c — `voicebox history list`: the generation history from the shell, over the studio code
 * (no HTTP), with the same filters and limits as GET /history. */
#include "cli/cli.h"
#include "cli/cli_opt.h"
#include "studio/studio.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)
static const char history_usage[] =
    "usage: voicebox history list [--profile PROFILE] [--search TEXT] [--limit N] [--offset N] [--json]\n"
    "                             [--data-dir DIR]\n"
    "  the generations, newest first. PROFILE is a profile id or its exact name; N for --limit is 1-" STR(
        STUDIO_HISTORY_LIMIT_MAX) "\n  (default " STR(STUDIO_HISTORY_LIMIT_DEFAULT) "); DIR defaults to "
                                                                                    "./data.\n";

/* Profile id for arg (an id or an exact name); NULL after printing an error. malloc'd. */
static char *resolve_profile(studio *s, const char *arg)
{
    studio_error err = {0};
    if (studio_id_valid(arg)) return strdup(arg);
    json_t *list = studio_profile_list(s, &err);
    if (!list) {
        cli_error("%s", err.msg);
        return NULL;
    }
    char *id = NULL;
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p) if (!strcmp(json_string_value(json_object_get(p, "name")), arg))
    {
        id = strdup(json_string_value(json_object_get(p, "id")));
        break;
    }
    json_decref(list);
    if (!id) cli_error("profile '%s': no profile has this id or name", arg);
    return id;
}

int cli_history(int argc, char **argv)
{
    const char *data_dir = "./data", *profile = NULL;
    studio_history_query q = studio_history_default_query();
    int as_json = 0, rc = 1;
    char *pid = NULL;
    studio *s = NULL;
    json_t *res = NULL;
    const cli_opt opts[] = {
        CLI_FLAG_OPT("--json", &as_json),
        CLI_STR_OPT("--data-dir", NULL, &data_dir),
        CLI_STR_OPT("--profile", NULL, &profile),
        CLI_STR_OPT("--search", NULL, &q.search),
        CLI_INT_OPT("--limit", &q.limit, INT_MIN, INT_MAX, "--limit: '%s' is not a whole number"),
        CLI_INT_OPT("--offset", &q.offset, INT_MIN, INT_MAX, "--offset: '%s' is not a whole number"),
    };
    const char *pos[argc > 0 ? argc : 1];
    int n_pos;
    int r = cli_parse("history", argc, argv, opts, sizeof opts / sizeof opts[0], pos, &n_pos);
    if (r == CLI_HELP) {
        fputs(history_usage, stdout);
        return 0;
    }
    if (r) return r;
    if (n_pos == 0) {
        fputs(history_usage, stderr);
        return 2;
    }
    if (strcmp(pos[0], "list") || n_pos > 1) {
        fputs(history_usage, stderr);
        return cli_error("history: unexpected argument '%s'", strcmp(pos[0], "list") ? pos[0] : pos[1]);
    }

    studio_error err = {0};
    s = studio_open(data_dir, &err);
    if (!s) return cli_error("%s", err.msg);
    if (profile) {
        pid = resolve_profile(s, profile);
        if (!pid) goto fail;
        q.profile_id = pid;
    }
    res = studio_history_list(s, &q, &err);
    if (!res) {
        cli_error("%s", err.msg);
        goto fail;
    }
    if (as_json) {
        char *out = json_dumps(res, JSON_INDENT(2));
        if (out) puts(out);
        free(out);
    } else {
        json_t *items = json_object_get(res, "items"), *g;
        size_t i;
        printf("%-36s  %-19s  %-16s  %7s  %s\n", "ID", "CREATED (UTC)", "PROFILE", "SECONDS", "TEXT");
        json_array_foreach(items, i, g)
        {
            const char *text = json_string_value(json_object_get(g, "text"));
            const char *created = json_string_value(json_object_get(g, "created_at"));
            json_t *dur = json_object_get(g, "duration");
            printf("%-36s  %-19.19s  %-16.16s  %7.2f  %.60s%s\n", json_string_value(json_object_get(g, "id")),
                   created ? created : "", json_string_value(json_object_get(g, "profile_name")),
                   json_is_number(dur) ? json_number_value(dur) : 0.0, text ? text : "",
                   text && strlen(text) > 60 ? "..." : "");
        }
        printf("%zu of %lld\n", json_array_size(items),
               (long long)json_integer_value(json_object_get(res, "total")));
    }
    rc = 0;
fail:
    json_decref(res);
    free(pid);
    studio_close(s);
    return rc;
}
