/* static.h — files of the browser UI under the web dir, for GET paths that are not API routes.
 * Only regular files whose real path lies inside the web dir are served; ".." segments, hidden files and
 * symlinks leading out are refused as "not found". */
#ifndef VOICEBOX_SRV_STATIC_H
#define VOICEBOX_SRV_STATIC_H

#include "server/http.h"

/* Serves req->path from ctx->web_dir. 0 if res was filled (the file, or a Range error), -1 if there is no
 * such file (the caller answers 404). */
int srv_static(srv_ctx *ctx, const srv_request *req, srv_response *res);
/* The same for <web_dir>/index.html. */
int srv_static_index(srv_ctx *ctx, const srv_request *req, srv_response *res);
/* A single-page app's own page paths (/voices, /history/...): index.html, for a browser's page load (Accept:
 * text/html) of a path with no file extension, so a reload on such a page works. -1 when that does not
 * apply (the caller answers 404). */
int srv_static_page(srv_ctx *ctx, const srv_request *req, srv_response *res);

#endif
