/* cli_profiles.c — `voicebox profiles list|create|samples|add-sample|delete`: voice profiles from the shell,
 * over the same studio code the server uses (no HTTP). A PROFILE argument is an id or an exact name. */
#include "cli/cli.h"
#include "cli/cli_opt.h"
#include "studio/studio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char profiles_usage[] =
    "usage: voicebox profiles <command> [--data-dir DIR]   (DIR defaults to ./data)\n"
    "  list [--json]                                   the profiles, newest first\n"
    "  create NAME [--description TEXT] [--language CODE]\n"
    "                                                  CODE: zh en ja ko de fr ru pt es it (default en)\n"
    "  samples PROFILE [--json]                        a profile's reference samples\n"
    "  add-sample PROFILE FILE --text TRANSCRIPT       add a 2-30 s recording (WAV, FLAC, OGG, MP3)\n"
    "  delete PROFILE                                  the profile with its samples and generations\n"
    "PROFILE is a profile id or its exact name.\n";

/* The profile named by arg (an id or an exact name), as JSON; NULL after printing an error. */
static json_t *find_profile(studio *s, const char *arg)
{
    studio_error err = {0};
    json_t *p = NULL;
    if (studio_id_valid(arg)) {
        p = studio_profile_get(s, arg, &err);
        if (p || err.kind != STUDIO_NOT_FOUND) {
            if (!p) cli_error("%s", err.msg);
            return p;
        }
    }
    json_t *list = studio_profile_list(s, &err);
    if (!list) {
        cli_error("%s", err.msg);
        return NULL;
    }
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it) if (!strcmp(json_string_value(json_object_get(it, "name")), arg))
    {
        p = json_incref(it);
        break;
    }
    json_decref(list);
    if (!p) cli_error("profile '%s': no profile has this id or name", arg);
    return p;
}

static char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f) return NULL;
    /* Read at most one byte past the upload cap: the studio decides what is too large. */
    while (n <= STUDIO_UPLOAD_MAX) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            char *nb = realloc(buf, cap);
            if (!nb) goto fail;
            buf = nb;
        }
        size_t want = cap - n;
        if (want > STUDIO_UPLOAD_MAX + 1 - n) want = STUDIO_UPLOAD_MAX + 1 - n;
        size_t got = fread(buf + n, 1, want, f);
        n += got;
        if (got < want) {
            if (ferror(f)) goto fail;
            break;
        }
    }
    fclose(f);
    *size = n;
    return buf ? buf : calloc(1, 1);
fail:
    fclose(f);
    free(buf);
    return NULL;
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2));
    if (s) puts(s);
    free(s);
}

static int cmd_list(studio *s, int as_json)
{
    studio_error err = {0};
    json_t *list = studio_profile_list(s, &err);
    if (!list) return cli_error("%s", err.msg);
    if (as_json) {
        print_json(list);
    } else {
        size_t i;
        json_t *p;
        printf("%-36s  %-8s  %-7s  %s\n", "ID", "LANGUAGE", "SAMPLES", "NAME");
        json_array_foreach(list, i, p)
        {
            const char *id = json_string_value(json_object_get(p, "id"));
            json_t *samples = studio_sample_list(s, id, &err);
            printf("%-36s  %-8s  %-7zu  %s\n", id, json_string_value(json_object_get(p, "language")),
                   samples ? json_array_size(samples) : 0, json_string_value(json_object_get(p, "name")));
            json_decref(samples);
        }
    }
    json_decref(list);
    return 0;
}

static int cmd_samples(studio *s, const char *profile, int as_json)
{
    studio_error err = {0};
    json_t *p = find_profile(s, profile);
    if (!p) return 1;
    json_t *list = studio_sample_list(s, json_string_value(json_object_get(p, "id")), &err);
    json_decref(p);
    if (!list) return cli_error("%s", err.msg);
    if (as_json) {
        print_json(list);
    } else {
        size_t i;
        json_t *smp;
        printf("%-36s  %8s  %s\n", "ID", "SECONDS", "REFERENCE TEXT");
        json_array_foreach(list, i, smp)
            printf("%-36s  %8.2f  %s\n", json_string_value(json_object_get(smp, "id")),
                   json_number_value(json_object_get(smp, "duration")),
                   json_string_value(json_object_get(smp, "reference_text")));
    }
    json_decref(list);
    return 0;
}

int cli_profiles(int argc, char **argv)
{
    const char *data_dir = "./data", *description = NULL, *language = NULL, *text = NULL;
    int npos = 0, as_json = 0, rc = 1;
    studio *s = NULL;
    json_t *body = NULL, *got = NULL, *p = NULL;
    const cli_opt opts[] = {
        CLI_FLAG_OPT("--json", &as_json),
        CLI_STR_OPT("--data-dir", NULL, &data_dir),
        CLI_STR_OPT("--description", NULL, &description),
        CLI_STR_OPT("--language", NULL, &language),
        CLI_STR_OPT("--text", NULL, &text),
    };
    const char *pos[argc > 0 ? argc : 1];
    int r = cli_parse("profiles", argc, argv, opts, sizeof opts / sizeof opts[0], pos, &npos);
    if (r == CLI_HELP) {
        fputs(profiles_usage, stdout);
        return 0;
    }
    if (r) return r;
    if (npos > 3) {
        fputs(profiles_usage, stderr);
        return cli_error("profiles: too many arguments ('%s')", pos[3]);
    }
    const char *cmd = npos ? pos[0] : NULL;
    struct {
        const char *name;
        int args;
    } shapes[] = {{"list", 1}, {"create", 2}, {"samples", 2}, {"add-sample", 3}, {"delete", 2}};
    int known = 0;
    for (size_t i = 0; cmd && i < sizeof shapes / sizeof shapes[0]; i++)
        if (!strcmp(cmd, shapes[i].name)) {
            known = 1;
            if (npos != shapes[i].args) {
                fputs(profiles_usage, stderr);
                return cli_error("profiles %s: expected %d argument%s, got %d", cmd, shapes[i].args - 1,
                                 shapes[i].args == 2 ? "" : "s", npos - 1);
            }
        }
    if (!known) {
        fputs(profiles_usage, stderr);
        return cmd ? cli_error("profiles: unknown command '%s'", cmd) : 2;
    }
    if (!strcmp(cmd, "add-sample") && !text) {
        fputs(profiles_usage, stderr);
        return cli_error("profiles add-sample: --text TRANSCRIPT is required");
    }

    studio_error err = {0};
    s = studio_open(data_dir, &err);
    if (!s) return cli_error("%s", err.msg);

    if (!strcmp(cmd, "list")) {
        rc = cmd_list(s, as_json);
    } else if (!strcmp(cmd, "samples")) {
        rc = cmd_samples(s, pos[1], as_json);
    } else if (!strcmp(cmd, "create")) {
        body = json_pack("{s:s}", "name", pos[1]);
        if (description) json_object_set_new(body, "description", json_string(description));
        if (language) json_object_set_new(body, "language", json_string(language));
        got = studio_profile_create(s, body, &err);
        if (!got) {
            cli_error("%s", err.msg);
            goto fail;
        }
        printf("%s\n", json_string_value(json_object_get(got, "id")));
        rc = 0;
    } else if (!strcmp(cmd, "add-sample")) {
        size_t size;
        char *bytes;
        p = find_profile(s, pos[1]);
        if (!p) goto fail;
        bytes = read_file(pos[2], &size);
        if (!bytes) {
            cli_error("%s: cannot read the file", pos[2]);
            goto fail;
        }
        got = studio_sample_add(s, json_string_value(json_object_get(p, "id")), bytes, size, text, &err);
        free(bytes);
        if (!got) {
            cli_error("%s: %s", pos[2], err.msg);
            goto fail;
        }
        printf("%s  %.2f s\n", json_string_value(json_object_get(got, "id")),
               json_number_value(json_object_get(got, "duration")));
        rc = 0;
    } else if (!strcmp(cmd, "delete")) {
        p = find_profile(s, pos[1]);
        if (!p) goto fail;
        if (studio_profile_delete(s, json_string_value(json_object_get(p, "id")), &err) < 0) {
            cli_error("%s", err.msg);
            goto fail;
        }
        printf("deleted %s (%s)\n", json_string_value(json_object_get(p, "id")),
               json_string_value(json_object_get(p, "name")));
        rc = 0;
    }
fail:
    json_decref(body);
    json_decref(got);
    json_decref(p);
    studio_close(s);
    return rc;
}
