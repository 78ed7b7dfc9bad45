/* test_http.c — the server's error answers (src/server/http.c): every studio error kind maps to its HTTP
 * status in one place, and an error about a field carries that field to the client as {"detail", "field"}
 * beside Voicebox's string detail. Driven without a socket, as the fuzzers drive the handlers. */
#include "server/http.h"
#include "test_util.h"

static json_t *body_of(const srv_response *res)
{
    json_error_t jerr;
    json_t *j = res->body ? json_loadb(res->body, res->body_len, 0, &jerr) : NULL;
    CHECK(j && json_is_object(j), "response body is not a JSON object: %.*s", (int)res->body_len,
          res->body ? res->body : "(none)");
    return j;
}

static void test_status_map(void)
{
    static const struct {
        studio_error_kind kind;
        int status;
    } want[] = {{STUDIO_OK, 200},       {STUDIO_NOT_FOUND, 404}, {STUDIO_INVALID, 422},
                {STUDIO_CONFLICT, 400}, {STUDIO_TOO_LARGE, 413}, {STUDIO_UNSUPPORTED_MEDIA, 415},
                {STUDIO_INTERNAL, 500}, {STUDIO_NOT_READY, 409}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK(srv_status_for(want[i].kind) == want[i].status, "kind %d: expected status %d, got %d",
              (int)want[i].kind, want[i].status, srv_status_for(want[i].kind));
}

/* A studio error with a field: status from the kind, detail the message, field the field. */
static void test_studio_error_field(void)
{
    srv_request req = {.method = "POST", .path = "/profiles"};
    srv_response res;
    srv_response_init(&res);
    studio_error err = {.kind = STUDIO_INVALID};
    snprintf(err.field, sizeof err.field, "name");
    snprintf(err.msg, sizeof err.msg, "name: must be 1 to 100 characters, got 101");
    srv_studio_error(&res, &req, &err);
    json_t *j = body_of(&res);
    CHECK(res.status == 422, "INVALID: expected 422, got %d", res.status);
    CHECK(!strcmp(json_string_value(json_object_get(j, "detail")) ?: "", err.msg), "detail: expected '%s'",
          err.msg);
    CHECK(!strcmp(json_string_value(json_object_get(j, "field")) ?: "", "name"), "field: expected 'name'");
    json_decref(j);

    /* no field: no "field" member at all (clients test for its presence) */
    err = (studio_error){.kind = STUDIO_NOT_FOUND};
    snprintf(err.msg, sizeof err.msg, "profile x: not found");
    srv_studio_error(&res, &req, &err);
    j = body_of(&res);
    CHECK(res.status == 404 && !json_object_get(j, "field"),
          "NOT_FOUND: expected 404 without field, got %d %s", res.status, res.body);
    json_decref(j);

    /* an internal fault names no field to the client, even if the studio had one in hand */
    err = (studio_error){.kind = STUDIO_INTERNAL};
    snprintf(err.field, sizeof err.field, "file");
    snprintf(err.msg, sizeof err.msg, "disk full");
    srv_studio_error(&res, &req, &err);
    j = body_of(&res);
    CHECK(res.status == 500 && !json_object_get(j, "field"),
          "INTERNAL: expected 500 without field, got %d %s", res.status, res.body);
    json_decref(j);
    srv_response_clear(&res);
}

/* The server's own checks name their field too; a message that is not UTF-8 still makes valid JSON. */
static void test_field_error(void)
{
    srv_response res;
    srv_response_init(&res);
    srv_field_error(&res, 422, "lines", "lines: must be an integer, got '%s'", "\xff\xfe");
    json_t *j = body_of(&res);
    CHECK(res.status == 422, "expected 422, got %d", res.status);
    CHECK(!strcmp(json_string_value(json_object_get(j, "field")) ?: "", "lines"),
          "field: expected 'lines', got %s", res.body);
    CHECK(!strcmp(json_string_value(json_object_get(j, "detail")) ?: "", "lines: must be an integer, got '?"
                                                                         "?'"),
          "detail: got %s", res.body);
    json_decref(j);

    srv_request req = {.method = "POST", .path = "/profiles", .body = "{\"name\":", .body_len = 8};
    json_t *out = NULL;
    CHECK(srv_parse_json_body(&req, &res, &out) == -1 && !out, "broken JSON accepted");
    j = body_of(&res);
    CHECK(res.status == 400 && !strcmp(json_string_value(json_object_get(j, "field")) ?: "", "body"),
          "broken JSON: expected 400 with field 'body', got %d %s", res.status, res.body);
    json_decref(j);

    srv_error(&res, 403, "no field here");
    j = body_of(&res);
    CHECK(!json_object_get(j, "field"), "srv_error added a field: %s", res.body);
    json_decref(j);
    srv_response_clear(&res);
}

int main(void)
{
    test_status_map();
    test_studio_error_field();
    test_field_error();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("test_http: ok\n");
    return 0;
}
