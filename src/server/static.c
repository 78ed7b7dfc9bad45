/* static.c — see static.h. The request path is checked segment by segment before it is joined to the web
 * dir, and the joined path is resolved and checked again, so neither ".." nor a symlink can lead out. */
#include "server/static.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *mime_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".wav", "audio/wav"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcasecmp(dot, types[i].ext)) return types[i].type;
    return "application/octet-stream";
}

/* 1 if every segment of path is a plain name: no "", ".", "..", hidden names or backslashes. */
static int safe_path(const char *path)
{
    if (path[0] != '/' || strchr(path, '\\')) return 0;
    const char *s = path + 1;
    while (*s) {
        const char *slash = strchr(s, '/');
        size_t len = slash ? (size_t)(slash - s) : strlen(s);
        if (len == 0 || s[0] == '.') return 0;
        if (!slash) break;
        s = slash + 1;
    }
    return 1;
}

static int serve(srv_ctx *ctx, const srv_request *req, srv_response *res, const char *rel)
{
    if (!ctx->web_dir || !safe_path(rel)) return -1;
    char root[PATH_MAX], joined[PATH_MAX], real[PATH_MAX];
    if (!realpath(ctx->web_dir, root)) return -1;
    if (snprintf(joined, sizeof joined, "%s%s", root, rel) >= (int)sizeof joined) return -1;
    if (!realpath(joined, real)) return -1;
    size_t rl = strlen(root);
    struct stat st;
    if (strncmp(real, root, rl) != 0 || real[rl] != '/' || stat(real, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    srv_file(res, req, real, mime_type(real));
    return 0;
}

int srv_static(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    return serve(ctx, req, res, req->path);
}

int srv_static_index(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    return serve(ctx, req, res, "/index.html");
}

int srv_static_page(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    const char *last = strrchr(req->path, '/');
    if (!req->accept || !strstr(req->accept, "text/html") || !last || strchr(last, '.')) return -1;
    return serve(ctx, req, res, "/index.html");
}
