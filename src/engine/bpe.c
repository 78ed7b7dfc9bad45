/* bpe.c — the Qwen2/Qwen3 byte-level BPE tokenizer, run exactly as Hugging Face `tokenizers` runs it
 * (docs/engine.md §1.6, §2.1): added tokens are split out of the raw text first, each remaining segment
 * is NFC normalised and cut by the Qwen2 Split regex, each piece's bytes are merged by rank.
 * The same machinery runs the GPT-2 byte-level BPE that Whisper's tokenizer is (no normaliser, the GPT-2
 * regex of the ByteLevel pre-tokenizer), chosen by what the files say.
 *
 * It loads a release directory (vocab.json + merges.txt, added tokens from tokenizer_config.json) or a
 * tokenizer.json. Every table is hashed at load, so tokenizing never scans the vocabulary. It must not
 * approximate: a file it cannot follow exactly (another normaliser or pre-tokenizer, a merge naming a missing
 * token) is an error. A loaded tokenizer is never written again, so threads may share one.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "engine/bpe.h"
#include "engine/json_error.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <pcre2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utf8proc.h>

/* ---- tables ------------------------------------------------------------------------------------------- */

/* Oniguruma's \s (what HF tokenizers runs) is the Unicode White_Space property. PCRE2's \s under UCP also
 * takes U+180E, so the class is spelled out instead of written \s. */
#define WS                                                                                                   \
    "\\t\\n\\x0B\\f\\r "                                                                                     \
    "\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

const char bpe_qwen2_pattern[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
                                 "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* GPT-2's expression (HF ByteLevel with use_regex; tiktoken's Whisper encodings use the same one):
 * 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+  for PCRE2 as below. */
static const char gpt2_pattern_pcre[] = "'s|'t|'re|'ve|'m|'ll|'d"
                                        "| ?\\p{L}+"
                                        "| ?\\p{N}+"
                                        "| ?[^" WS "\\p{L}\\p{N}]+"
                                        "|[" WS "]+(?![^" WS "])"
                                        "|[" WS "]+";

/* The same expression for PCRE2 (UTF + UCP), with \s and \S replaced by the White_Space class. */
static const char qwen2_pattern_pcre[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)"
                                         "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
                                         "|\\p{N}"
                                         "| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*"
                                         "|[" WS "]*[\\r\\n]+"
                                         "|[" WS "]+(?![^" WS "])"
                                         "|[" WS "]+";

#define MAX_TOKEN_ID (1 << 24) /* far above any real vocabulary; bounds the id-indexed arrays */
#define SCAN_MAX 48            /* pieces up to this many bytes merge by a plain scan, longer ones by a heap */

typedef struct {
    char *content; /* raw UTF-8 as matched in the text, NUL-terminated */
    size_t len;
    int32_t id;
    bool lstrip, rstrip, single_word, normalized;
} added_token;

typedef struct {
    uint64_t key; /* (uint64)left << 32 | right; EMPTY_KEY when free */
    int32_t rank;
    int32_t id; /* the merged token */
} merge_slot;

#define EMPTY_KEY UINT64_MAX

typedef struct {
    uint32_t hash;
    int32_t id;
} vocab_slot;

struct qt_tokenizer {
    /* id -> bytes for decoding: token id's raw bytes are arena[tok_off[id] .. + tok_len[id]];
     * tok_off[id] == UINT32_MAX where no token has that id. */
    uint8_t *arena;
    size_t arena_len, arena_cap;
    uint32_t *tok_off, *tok_len;
    int32_t n_ids; /* largest id + 1 */

    /* the BPE vocabulary, raw bytes -> id: open addressing, id -1 free; the full hash is kept beside the id
     * so a probe rarely touches the token bytes */
    vocab_slot *vocab_slots;
    uint32_t vocab_mask;
    int32_t n_vocab;

    merge_slot *merge_slots; /* (left id, right id) -> rank and merged id */
    uint32_t merge_mask;
    int32_t n_merges;

    int32_t byte_id[256]; /* the token of each single byte: where every piece starts */
    int16_t u2b[324];     /* byte-to-unicode inverse: code point -> byte, -1 if not a byte's */

    added_token *added; /* sorted by first byte, then longest first */
    int n_added, cap_added;
    uint16_t added_first[257]; /* added[added_first[b] .. added_first[b+1]) start with byte b */
    bool has_normalized_added;

    bool nfc;           /* NFC normaliser (both Qwen files use one) */
    bool gpt2;          /* the GPT-2 regex (Whisper) instead of the Qwen2 one */
    bool ignore_merges; /* tokenizer.json model.ignore_merges: a piece that is a whole token skips BPE */
    pcre2_code *re;
};

/* ---- small helpers ------------------------------------------------------------------------------------ */

static uint32_t hash_bytes(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static uint32_t hash_pair(uint64_t key)
{
    return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32);
}

static uint32_t table_size(size_t n)
{
    uint32_t s = 16;
    while (s < 2 * n)
        s <<= 1;
    return s;
}

static bool byte_is_printable(int b)
{
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
}

uint32_t bpe_byte_to_codepoint(uint8_t b)
{
    if (byte_is_printable(b)) return b;
    uint32_t n = 0; /* the other 68 bytes take U+0100.. in byte order */
    for (int c = 0; c < b; c++)
        n += !byte_is_printable(c);
    return 256 + n;
}

/* Reads a whole file into a NUL-terminated buffer. */
static char *read_file(const char *path, size_t *len, qt_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        qt_fail(err, errno == ENOENT ? QT_ERR_NOT_FOUND : QT_ERR_IO, "%s: cannot open: %s", path,
                strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 65536) {
            cap = cap ? cap * 2 : 1 << 20;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                qt_fail(err, QT_ERR_NOMEM, "%s: out of memory reading the file", path);
                goto fail;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                qt_fail(err, QT_ERR_IO, "%s: read error", path);
                goto fail;
            }
            break;
        }
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

static json_t *load_json(const char *path, qt_error *err)
{
    size_t len;
    char *text = read_file(path, &len, err);
    if (!text) return NULL;
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    free(text);
    if (!root) qt_json_fail(err, path, &je);
    return root;
}

/* Decodes a byte-level token string (vocab.json / merges.txt spelling) into raw bytes; out has room for n.
 * Returns the byte count, or -1 if a character is not one of the 256 byte characters. */
static long bytelevel_decode(const qt_tokenizer *t, const char *s, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0 || cp < 0 || cp >= 324 || t->u2b[cp] < 0) return -1;
        out[o++] = (uint8_t)t->u2b[cp];
        i += (size_t)k;
    }
    return (long)o;
}

static int32_t vocab_find(const qt_tokenizer *t, const uint8_t *p, size_t n)
{
    if (!t->vocab_slots) return -1;
    uint32_t hash = hash_bytes(p, n);
    for (uint32_t h = hash & t->vocab_mask;; h = (h + 1) & t->vocab_mask) {
        vocab_slot s = t->vocab_slots[h];
        if (s.id < 0) return -1;
        if (s.hash == hash && t->tok_len[s.id] == n && !memcmp(t->arena + t->tok_off[s.id], p, n))
            return s.id;
    }
}

/* Rank of merging (l, r), or INT32_MAX when the pair never merges; *id gets the merged token. */
static inline int32_t merge_find(const qt_tokenizer *t, int32_t l, int32_t r, int32_t *id)
{
    uint64_t key = (uint64_t)(uint32_t)l << 32 | (uint32_t)r;
    for (uint32_t h = hash_pair(key) & t->merge_mask;; h = (h + 1) & t->merge_mask) {
        const merge_slot *s = &t->merge_slots[h];
        if (s->key == key) {
            *id = s->id;
            return s->rank;
        }
        if (s->key == EMPTY_KEY) return INT32_MAX;
    }
}

/* ---- loading ------------------------------------------------------------------------------------------ */

static int arena_put(qt_tokenizer *t, const void *p, size_t n, uint32_t *off, qt_error *err)
{
    if (t->arena_len + n > UINT32_MAX - 1)
        return qt_fail(err, QT_ERR_CORRUPT, "tokenizer: the vocabulary holds more than 4 GiB of token text");
    if (t->arena_len + n > t->arena_cap) {
        size_t cap = t->arena_cap ? t->arena_cap : 1 << 20;
        while (cap < t->arena_len + n)
            cap *= 2;
        uint8_t *na = realloc(t->arena, cap);
        if (!na) return qt_fail(err, QT_ERR_NOMEM, "tokenizer: out of memory for the vocabulary");
        t->arena = na;
        t->arena_cap = cap;
    }
    memcpy(t->arena + t->arena_len, p, n);
    *off = (uint32_t)t->arena_len;
    t->arena_len += n;
    return 0;
}

/* Reads an id from a JSON integer; -1 with *err when it is not one in range. */
static int json_id(const json_t *v, const char *file, const char *what, int32_t *id, qt_error *err)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= MAX_TOKEN_ID)
        return qt_fail(err, QT_ERR_CORRUPT, "%s: %s has no valid id (need an integer 0..%d)", file, what,
                       MAX_TOKEN_ID - 1);
    *id = (int32_t)json_integer_value(v);
    return 0;
}

static bool json_flag(const json_t *obj, const char *key)
{
    return json_is_true(json_object_get(obj, key));
}

/* Adds an added token (from tokenizer.json "added_tokens" or tokenizer_config.json "added_tokens_decoder");
 * a token whose id is already added is skipped, as transformers skips it. */
static int add_added(qt_tokenizer *t, int32_t id, const json_t *obj, const char *file, qt_error *err)
{
    const json_t *c = json_object_get(obj, "content");
    if (!json_is_string(c) || json_string_length(c) == 0)
        return qt_fail(err, QT_ERR_CORRUPT, "%s: added token %d has no \"content\" string", file, id);
    const char *s = json_string_value(c);
    size_t len = json_string_length(c);
    if (strlen(s) != len ||
        utf8proc_iterate((const uint8_t *)s, (utf8proc_ssize_t)len, &(utf8proc_int32_t){0}) < 0)
        return qt_fail(err, QT_ERR_CORRUPT, "%s: added token %d has a NUL or bad UTF-8 in its content", file,
                       id);
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].id == id) return 0;
    if (t->n_added >= 65535) return qt_fail(err, QT_ERR_CORRUPT, "%s: more than 65535 added tokens", file);
    if (t->n_added == t->cap_added) {
        int cap = t->cap_added ? t->cap_added * 2 : 64;
        added_token *na = realloc(t->added, (size_t)cap * sizeof *na);
        if (!na) return qt_fail(err, QT_ERR_NOMEM, "%s: out of memory for added tokens", file);
        t->added = na;
        t->cap_added = cap;
    }
    added_token *a = &t->added[t->n_added];
    a->content = strdup(s);
    if (!a->content) return qt_fail(err, QT_ERR_NOMEM, "%s: out of memory for added tokens", file);
    a->len = len;
    a->id = id;
    a->lstrip = json_flag(obj, "lstrip");
    a->rstrip = json_flag(obj, "rstrip");
    a->single_word = json_flag(obj, "single_word");
    a->normalized = json_flag(obj, "normalized");
    t->n_added++;
    return 0;
}

static int load_added_array(qt_tokenizer *t, const json_t *arr, const char *file, qt_error *err)
{
    if (!arr || json_is_null(arr)) return 0;
    if (!json_is_array(arr))
        return qt_fail(err, QT_ERR_CORRUPT, "%s: \"added_tokens\" is not an array", file);
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        int32_t id;
        char what[64];
        snprintf(what, sizeof what, "added_tokens[%zu]", i);
        if (!json_is_object(v)) return qt_fail(err, QT_ERR_CORRUPT, "%s: %s is not an object", file, what);
        if (json_id(json_object_get(v, "id"), file, what, &id, err) || add_added(t, id, v, file, err))
            return -1;
    }
    return 0;
}

/* tokenizer_config.json: the "added_tokens_decoder" object, {"151643": {"content": ...}, ...}. */
static int load_added_decoder(qt_tokenizer *t, const char *path, qt_error *err)
{
    json_t *root = load_json(path, err);
    if (!root) return -1;
    int rc = -1;
    const json_t *dec = json_object_get(root, "added_tokens_decoder");
    if (!json_is_object(root)) {
        qt_fail(err, QT_ERR_CORRUPT, "%s: not a JSON object", path);
        goto done;
    }
    if (dec && !json_is_object(dec)) {
        qt_fail(err, QT_ERR_CORRUPT, "%s: \"added_tokens_decoder\" is not an object", path);
        goto done;
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)dec, key, v)
    {
        char *end;
        errno = 0;
        long id = strtol(key, &end, 10);
        if (!*key || *end || errno || id < 0 || id >= MAX_TOKEN_ID || !json_is_object(v)) {
            qt_fail(err, QT_ERR_CORRUPT, "%s: added_tokens_decoder entry \"%s\" is not an id with an object",
                    path, key);
            goto done;
        }
        if (add_added(t, (int32_t)id, v, path, err)) goto done;
    }
    rc = 0;
done:
    json_decref(root);
    return rc;
}

/* The vocabulary while it is read: each token's raw bytes are already in the arena. */
typedef struct {
    int32_t id;
    uint32_t off, len;
} vocab_entry;

typedef struct {
    vocab_entry *e;
    size_t n, cap;
} entry_list;

static int entry_add(qt_tokenizer *t, entry_list *l, int32_t id, const uint8_t *raw, size_t n, qt_error *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        vocab_entry *ne = realloc(l->e, cap * sizeof *ne);
        if (!ne) return qt_fail(err, QT_ERR_NOMEM, "tokenizer: out of memory for the vocabulary");
        l->e = ne;
        l->cap = cap;
    }
    vocab_entry *e = &l->e[l->n];
    e->id = id;
    e->len = (uint32_t)n;
    if (arena_put(t, raw, n, &e->off, err)) return -1;
    l->n++;
    return 0;
}

/* Reads {"token": id, ...} from a parsed JSON object. */
static int vocab_from_json(qt_tokenizer *t, const json_t *vocab, const char *file, entry_list *l,
                           qt_error *err)
{
    if (!json_is_object(vocab))
        return qt_fail(err, QT_ERR_CORRUPT, "%s: the vocabulary is not a JSON object of token -> id", file);
    const char *key;
    const json_t *v;
    uint8_t raw[1024];
    json_object_foreach((json_t *)vocab, key, v)
    {
        int32_t id;
        size_t klen = strlen(key);
        if (json_id(v, file, "a vocabulary token", &id, err)) return -1;
        if (klen > sizeof raw)
            return qt_fail(err, QT_ERR_CORRUPT, "%s: token %d is %zu bytes long, more than %zu", file, id,
                           klen, sizeof raw);
        long rn = bytelevel_decode(t, key, klen, raw);
        if (rn < 0)
            return qt_fail(err, QT_ERR_CORRUPT,
                           "%s: token %d \"%.60s\" is not written in byte-level characters", file, id, key);
        if (entry_add(t, l, id, raw, (size_t)rn, err)) return -1;
    }
    return 0;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

static int hex4(const char *p, const char *end)
{
    if (end - p < 4) return -1;
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* vocab.json read directly, about four times faster than through jansson: a flat object of string keys and
 * small integers, which is all a real file holds. Returns 1 for anything else (escapes it does not know,
 * other value types, non-byte-level keys, bad syntax), and the caller then reads the file with jansson,
 * which reports the fault. */
static int vocab_from_text(qt_tokenizer *t, const char *p, size_t len, entry_list *l, qt_error *err)
{
    const char *end = p + len;
    char key[1024];
    uint8_t raw[1024];
    p = skip_ws(p, end);
    if (p == end || *p++ != '{') return 1;
    p = skip_ws(p, end);
    if (p < end && *p == '}') return skip_ws(p + 1, end) == end ? 0 : 1;
    for (;;) {
        if (p == end || *p++ != '"') return 1;
        size_t k = 0;
        while (p < end && *p != '"') {
            if (k + 4 > sizeof key) return 1;
            if (*p != '\\') {
                if ((uint8_t)*p < 0x20) return 1;
                key[k++] = *p++;
                continue;
            }
            if (++p == end) return 1;
            char c = *p++;
            switch (c) {
            case '"':
            case '\\':
            case '/':
                key[k++] = c;
                break;
            case 'b':
                key[k++] = '\b';
                break;
            case 'f':
                key[k++] = '\f';
                break;
            case 'n':
                key[k++] = '\n';
                break;
            case 'r':
                key[k++] = '\r';
                break;
            case 't':
                key[k++] = '\t';
                break;
            case 'u': {
                int cp = hex4(p, end);
                if (cp < 0 || cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return 1; /* surrogates: jansson */
                p += 4;
                k += (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)key + k);
                break;
            }
            default:
                return 1;
            }
        }
        if (p == end) return 1;
        p = skip_ws(p + 1, end);
        if (p == end || *p++ != ':') return 1;
        p = skip_ws(p, end);
        long id = 0;
        const char *digits = p;
        while (p < end && *p >= '0' && *p <= '9' && id < MAX_TOKEN_ID)
            id = id * 10 + (*p++ - '0');
        if (p == digits || id >= MAX_TOKEN_ID || (*digits == '0' && p - digits > 1)) return 1;
        long rn = bytelevel_decode(t, key, k, raw);
        if (rn < 0) return 1;
        if (entry_add(t, l, (int32_t)id, raw, (size_t)rn, err)) return -1;
        p = skip_ws(p, end);
        if (p == end) return 1;
        if (*p == '}') return skip_ws(p + 1, end) == end ? 0 : 1;
        if (*p++ != ',') return 1;
        p = skip_ws(p, end);
    }
}

/* Builds the id tables and the vocab hash from the entries read. */
static int index_vocab(qt_tokenizer *t, const entry_list *l, const char *file, qt_error *err)
{
    if (l->n < 256)
        return qt_fail(err, QT_ERR_CORRUPT, "%s: the vocabulary has %zu tokens, fewer than the 256 bytes",
                       file, l->n);
    int32_t max_id = -1;
    for (size_t i = 0; i < l->n; i++)
        if (l->e[i].id > max_id) max_id = l->e[i].id;
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].id > max_id) max_id = t->added[i].id;
    t->n_ids = max_id + 1;
    t->tok_off = malloc((size_t)t->n_ids * sizeof *t->tok_off);
    t->tok_len = calloc((size_t)t->n_ids, sizeof *t->tok_len);
    t->vocab_mask = table_size(l->n) - 1;
    t->vocab_slots = malloc(((size_t)t->vocab_mask + 1) * sizeof *t->vocab_slots);
    if (!t->tok_off || !t->tok_len || !t->vocab_slots)
        return qt_fail(err, QT_ERR_NOMEM, "%s: out of memory for the vocabulary", file);
    memset(t->tok_off, 0xff, (size_t)t->n_ids * sizeof *t->tok_off);
    memset(t->vocab_slots, 0xff, ((size_t)t->vocab_mask + 1) * sizeof *t->vocab_slots);
    for (size_t i = 0; i < l->n; i++) {
        const vocab_entry *e = &l->e[i];
        if (t->tok_off[e->id] != UINT32_MAX)
            return qt_fail(err, QT_ERR_CORRUPT, "%s: id %d is given to two tokens", file, e->id);
        const uint8_t *raw = t->arena + e->off;
        if (e->len == 0) { /* "" (Whisper's id 50256): decodes to nothing, no merge ever makes it */
            t->tok_off[e->id] = e->off;
            continue;
        }
        if (vocab_find(t, raw, e->len) >= 0)
            return qt_fail(err, QT_ERR_CORRUPT, "%s: token %d is listed twice", file, e->id);
        t->tok_off[e->id] = e->off;
        t->tok_len[e->id] = e->len;
        uint32_t hash = hash_bytes(raw, e->len), h = hash & t->vocab_mask;
        while (t->vocab_slots[h].id >= 0)
            h = (h + 1) & t->vocab_mask;
        t->vocab_slots[h] = (vocab_slot){hash, e->id};
        t->n_vocab++;
    }
    for (int b = 0; b < 256; b++) {
        uint8_t c = (uint8_t)b;
        t->byte_id[b] = vocab_find(t, &c, 1);
        if (t->byte_id[b] < 0)
            return qt_fail(err, QT_ERR_CORRUPT,
                           "%s: no token for byte 0x%02x (U+%04X), so not a byte-level BPE", file, b,
                           bpe_byte_to_codepoint(c));
    }
    return 0;
}

/* tokenizer.json's model.vocab. */
static int build_vocab(qt_tokenizer *t, const json_t *vocab, const char *file, qt_error *err)
{
    entry_list l = {0};
    int rc = vocab_from_json(t, vocab, file, &l, err) || index_vocab(t, &l, file, err) ? -1 : 0;
    free(l.e);
    return rc;
}

/* vocab.json: the direct reader, and jansson where that one gives up. */
static int load_vocab_file(qt_tokenizer *t, const char *path, qt_error *err)
{
    size_t len;
    char *text = read_file(path, &len, err);
    if (!text) return -1;
    entry_list l = {0};
    int rc = vocab_from_text(t, text, len, &l, err);
    if (rc == 1) {
        t->arena_len = 0;
        l.n = 0;
        json_error_t je;
        json_t *root = json_loadb(text, len, 0, &je);
        if (!root)
            rc = qt_json_fail(err, path, &je);
        else
            rc = vocab_from_json(t, root, path, &l, err);
        json_decref(root);
    }
    free(text);
    if (rc == 0) rc = index_vocab(t, &l, path, err);
    free(l.e);
    return rc;
}

static int merge_add(qt_tokenizer *t, const char *a, size_t na, const char *b, size_t nb, int32_t rank,
                     const char *file, size_t where, qt_error *err)
{
    uint8_t buf[512];
    if (na + nb > sizeof buf)
        return qt_fail(err, QT_ERR_CORRUPT, "%s: merge %zu is longer than any token could be", file, where);
    long ra = bytelevel_decode(t, a, na, buf);
    long rb = ra < 0 ? -1 : bytelevel_decode(t, b, nb, buf + ra);
    int32_t l = ra > 0 ? vocab_find(t, buf, (size_t)ra) : -1;
    int32_t r = rb > 0 ? vocab_find(t, buf + ra, (size_t)rb) : -1;
    int32_t m = l >= 0 && r >= 0 ? vocab_find(t, buf, (size_t)(ra + rb)) : -1;
    if (m < 0)
        return qt_fail(err, QT_ERR_CORRUPT, "%s: merge %zu \"%.*s %.*s\" names a token not in the vocabulary",
                       file, where, (int)(na > 60 ? 60 : na), a, (int)(nb > 60 ? 60 : nb), b);
    uint64_t key = (uint64_t)(uint32_t)l << 32 | (uint32_t)r;
    uint32_t h = hash_pair(key) & t->merge_mask;
    while (t->merge_slots[h].key != EMPTY_KEY && t->merge_slots[h].key != key)
        h = (h + 1) & t->merge_mask;
    if (t->merge_slots[h].key == EMPTY_KEY) t->n_merges++;
    /* a repeated pair takes its later rank, as HF builds its merge map */
    t->merge_slots[h] = (merge_slot){key, rank, m};
    return 0;
}

static int alloc_merges(qt_tokenizer *t, size_t n, const char *file, qt_error *err)
{
    t->merge_mask = table_size(n) - 1;
    t->merge_slots = malloc(((size_t)t->merge_mask + 1) * sizeof *t->merge_slots);
    if (!t->merge_slots) return qt_fail(err, QT_ERR_NOMEM, "%s: out of memory for the merges", file);
    for (size_t i = 0; i <= t->merge_mask; i++)
        t->merge_slots[i].key = EMPTY_KEY;
    return 0;
}

/* merges.txt: an optional "#version" line, then one "left right" pair per line, best rank first. */
static int load_merges_txt(qt_tokenizer *t, const char *path, qt_error *err)
{
    size_t len;
    char *text = read_file(path, &len, err);
    if (!text) return -1;
    int rc = -1;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    if (alloc_merges(t, lines, path, err)) goto done;
    int32_t rank = 0;
    size_t line_no = 0;
    for (char *p = text, *end = text + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        line_no++;
        size_t n = (size_t)(le - p);
        if (n && p[n - 1] == '\r') n--;
        if (n && !(n >= 8 && !memcmp(p, "#version", 8))) {
            char *sp = memchr(p, ' ', n);
            if (!sp || sp == p || sp + 1 == p + n || memchr(sp + 1, ' ', (size_t)(p + n - sp - 1))) {
                qt_fail(err, QT_ERR_CORRUPT, "%s: line %zu is not \"left right\"", path, line_no);
                goto done;
            }
            if (merge_add(t, p, (size_t)(sp - p), sp + 1, (size_t)(p + n - sp - 1), rank++, path, line_no,
                          err))
                goto done;
        }
        p = le + 1;
    }
    rc = 0;
done:
    free(text);
    return rc;
}

/* tokenizer.json "merges": ["a b", ...] (older files) or [["a", "b"], ...] (newer ones). */
static int load_merges_json(qt_tokenizer *t, const json_t *merges, const char *file, qt_error *err)
{
    if (!json_is_array(merges)) return qt_fail(err, QT_ERR_CORRUPT, "%s: model.merges is not an array", file);
    if (alloc_merges(t, json_array_size(merges), file, err)) return -1;
    size_t i;
    const json_t *v;
    json_array_foreach(merges, i, v)
    {
        const char *a, *b;
        size_t na, nb;
        if (json_is_string(v)) {
            a = json_string_value(v);
            const char *sp = strchr(a, ' ');
            if (!sp || sp == a || !sp[1] || strchr(sp + 1, ' '))
                return qt_fail(err, QT_ERR_CORRUPT, "%s: merges[%zu] is not \"left right\"", file, i);
            na = (size_t)(sp - a);
            b = sp + 1;
            nb = strlen(b);
        } else if (json_is_array(v) && json_array_size(v) == 2 && json_is_string(json_array_get(v, 0)) &&
                   json_is_string(json_array_get(v, 1))) {
            a = json_string_value(json_array_get(v, 0));
            b = json_string_value(json_array_get(v, 1));
            na = strlen(a);
            nb = strlen(b);
        } else {
            return qt_fail(err, QT_ERR_CORRUPT, "%s: merges[%zu] is neither \"a b\" nor [\"a\", \"b\"]", file,
                           i);
        }
        if (merge_add(t, a, na, b, nb, (int32_t)i, file, i, err)) return -1;
    }
    return 0;
}

/* Accepts only what this file implements: NFC (or no) normaliser, the Qwen2 Split + ByteLevel pre-tokenizer,
 * a plain byte-level BPE model. */
static int check_tokenizer_json(qt_tokenizer *t, const json_t *root, const char *file, qt_error *err)
{
    const json_t *norm = json_object_get(root, "normalizer");
    const char *nt = json_string_value(json_object_get(norm, "type"));
    if (norm && !json_is_null(norm) && !(nt && !strcmp(nt, "NFC")))
        return qt_fail(err, QT_ERR_CORRUPT, "%s: normalizer \"%s\" is not supported (only NFC)", file,
                       nt ? nt : "?");
    t->nfc = nt != NULL;

    const json_t *pre = json_object_get(root, "pre_tokenizer");
    const char *pt = json_string_value(json_object_get(pre, "type"));
    if (pt && !strcmp(pt, "ByteLevel")) { /* GPT-2 / Whisper: the regex lives inside ByteLevel */
        const json_t *ur = json_object_get(pre, "use_regex");
        if ((ur && !json_is_true(ur)) || json_is_true(json_object_get(pre, "add_prefix_space")))
            return qt_fail(err, QT_ERR_CORRUPT,
                           "%s: a ByteLevel pre_tokenizer without its regex or with add_prefix_space is not "
                           "supported",
                           file);
        t->gpt2 = true;
    }
    const json_t *list = json_object_get(pre, "pretokenizers");
    const json_t *split = json_array_get(list, 0), *bl = json_array_get(list, 1);
    const char *pat = json_string_value(json_object_get(json_object_get(split, "pattern"), "Regex"));
    const char *beh = json_string_value(json_object_get(split, "behavior"));
    const char *blt = json_string_value(json_object_get(bl, "type"));
    if (!t->gpt2 && (json_array_size(list) != 2 || !pat || strcmp(pat, bpe_qwen2_pattern) || !beh ||
                     strcmp(beh, "Isolated") || json_is_true(json_object_get(split, "invert")) || !blt ||
                     strcmp(blt, "ByteLevel") || json_is_true(json_object_get(bl, "use_regex")) ||
                     json_is_true(json_object_get(bl, "add_prefix_space"))))
        return qt_fail(err, QT_ERR_CORRUPT,
                       "%s: pre_tokenizer is not the Qwen2 Split regex + ByteLevel one (nor GPT-2's "
                       "ByteLevel), which is all "
                       "this reads",
                       file);

    const json_t *model = json_object_get(root, "model");
    const char *mt = json_string_value(json_object_get(model, "type"));
    if (!mt || strcmp(mt, "BPE"))
        return qt_fail(err, QT_ERR_CORRUPT, "%s: model.type is \"%s\", not \"BPE\"", file, mt ? mt : "?");
    const char *bad = json_is_true(json_object_get(model, "byte_fallback")) ? "byte_fallback"
                      : json_is_number(json_object_get(model, "dropout"))   ? "dropout"
                      : json_string_length(json_object_get(model, "continuing_subword_prefix"))
                          ? "continuing_subword_prefix"
                      : json_string_length(json_object_get(model, "end_of_word_suffix"))
                          ? "end_of_word_suffix"
                          : NULL;
    if (bad)
        return qt_fail(err, QT_ERR_CORRUPT, "%s: model.%s is set, which a byte-level Qwen BPE does not use",
                       file, bad);
    t->ignore_merges = json_is_true(json_object_get(model, "ignore_merges"));
    return 0;
}

static int load_tokenizer_json(qt_tokenizer *t, const char *path, const char *config_path, qt_error *err)
{
    json_t *root = load_json(path, err);
    if (!root) return -1;
    int rc = -1;
    if (!json_is_object(root)) {
        qt_fail(err, QT_ERR_CORRUPT, "%s: not a JSON object", path);
        goto done;
    }
    const json_t *model = json_object_get(root, "model");
    if (check_tokenizer_json(t, root, path, err) ||
        load_added_array(t, json_object_get(root, "added_tokens"), path, err))
        goto done;
    /* transformers adds tokenizer_config.json's added tokens that tokenizer.json lacks */
    if (config_path && load_added_decoder(t, config_path, err)) goto done;
    if (build_vocab(t, json_object_get(model, "vocab"), path, err) ||
        load_merges_json(t, json_object_get(model, "merges"), path, err))
        goto done;
    rc = 0;
done:
    json_decref(root);
    return rc;
}

static int by_first_byte(const void *pa, const void *pb)
{
    const added_token *a = pa, *b = pb;
    uint8_t ca = (uint8_t)a->content[0], cb = (uint8_t)b->content[0];
    if (ca != cb) return ca < cb ? -1 : 1;
    if (a->len != b->len) return a->len > b->len ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* After the files are in: added-token index and decode table, the regex. */
static int finish(qt_tokenizer *t, const char *where, qt_error *err)
{
    if (t->n_added) qsort(t->added, (size_t)t->n_added, sizeof *t->added, by_first_byte);
    int k = 0;
    for (int b = 0; b < 256; b++) {
        t->added_first[b] = (uint16_t)k;
        while (k < t->n_added && (uint8_t)t->added[k].content[0] == b)
            k++;
    }
    t->added_first[256] = (uint16_t)k;
    for (int i = 0; i < t->n_added; i++) {
        added_token *a = &t->added[i];
        t->has_normalized_added |= a->normalized;
        if (t->tok_off[a->id] != UINT32_MAX)
            continue; /* also a BPE token: the vocab hash points at its bytes, so they stay */
        if (arena_put(t, a->content, a->len, &t->tok_off[a->id], err)) return -1;
        t->tok_len[a->id] = (uint32_t)a->len;
    }

    int ec;
    PCRE2_SIZE eo;
    t->re = pcre2_compile((PCRE2_SPTR)(t->gpt2 ? gpt2_pattern_pcre : qwen2_pattern_pcre),
                          PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &ec, &eo, NULL);
    if (!t->re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        return qt_fail(err, QT_ERR_INVALID, "%s: the pre-tokenizer regex does not compile at %zu: %s", where,
                       (size_t)eo, (const char *)msg);
    }
    pcre2_jit_compile(t->re, PCRE2_JIT_COMPLETE); /* without JIT (unsupported CPU) pcre2_match interprets */
    return 0;
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* 1 when tokenizer_config.json names a GPT-2-style tokenizer class (Whisper's among them): no normaliser, the
 * GPT-2 regex; else 0; -1 when it cannot be read. Guessing "not GPT-2" then would load a Whisper tokenizer
 * that tokenizes wrongly if the cause was a lack of memory (jansson reports that as a syntax error). */
static int gpt2_class(const char *config_path, qt_error *err)
{
    json_error_t je;
    json_t *root = json_load_file(config_path, 0, &je);
    if (!root) return qt_json_fail(err, config_path, &je);
    const char *c = json_string_value(json_object_get(root, "tokenizer_class"));
    int yes = c && (!strncmp(c, "WhisperTokenizer", 16) || !strncmp(c, "GPT2Tokenizer", 13));
    json_decref(root);
    return yes;
}

qt_tokenizer *qt_tokenizer_load(const char *path, qt_error *err)
{
    if (!path || !*path) {
        qt_fail(err, QT_ERR_INVALID, "tokenizer: no model directory given");
        return NULL;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        qt_fail(err, QT_ERR_NOT_FOUND, "%s: no such file or directory", path);
        return NULL;
    }
    qt_tokenizer *t = calloc(1, sizeof *t);
    char *p_json = NULL, *p_vocab = NULL, *p_merges = NULL, *p_config = NULL;
    if (!t || asprintf(&p_json, "%s/tokenizer.json", path) < 0 ||
        asprintf(&p_vocab, "%s/vocab.json", path) < 0 || asprintf(&p_merges, "%s/merges.txt", path) < 0 ||
        asprintf(&p_config, "%s/tokenizer_config.json", path) < 0) {
        qt_fail(err, QT_ERR_NOMEM, "tokenizer: out of memory");
        goto fail;
    }
    for (int i = 0; i < 324; i++)
        t->u2b[i] = -1;
    for (int b = 0; b < 256; b++)
        t->u2b[bpe_byte_to_codepoint((uint8_t)b)] = (int16_t)b;

    const char *where = path;
    if (S_ISREG(st.st_mode)) { /* a tokenizer.json itself: exactly what HF tokenizers would load */
        if (load_tokenizer_json(t, path, NULL, err)) goto fail;
    } else if (is_file(
                   p_json)) { /* like transformers: tokenizer.json first, then the config's added tokens */
        if (load_tokenizer_json(t, p_json, is_file(p_config) ? p_config : NULL, err)) goto fail;
    } else {
        if (!is_file(p_vocab) || !is_file(p_merges)) {
            qt_fail(err, QT_ERR_NOT_FOUND, "%s: no tokenizer.json, nor vocab.json and merges.txt", path);
            goto fail;
        }
        int gpt2 = is_file(p_config) ? gpt2_class(p_config, err) : 0;
        if (gpt2 < 0) goto fail;
        t->gpt2 = gpt2 == 1;
        t->nfc = !t->gpt2; /* Qwen2Tokenizer normalises to NFC; GPT2Tokenizer and WhisperTokenizer do not */
        if ((is_file(p_config) && load_added_decoder(t, p_config, err)) || load_vocab_file(t, p_vocab, err) ||
            load_merges_txt(t, p_merges, err))
            goto fail;
    }
    if (finish(t, where, err)) goto fail;
    free(p_json);
    free(p_vocab);
    free(p_merges);
    free(p_config);
    return t;
fail:
    free(p_json);
    free(p_vocab);
    free(p_merges);
    free(p_config);
    qt_tokenizer_free(t);
    return NULL;
}

void qt_tokenizer_free(qt_tokenizer *t)
{
    if (!t) return;
    for (int i = 0; i < t->n_added; i++)
        free(t->added[i].content);
    free(t->added);
    free(t->arena);
    free(t->tok_off);
    free(t->tok_len);
    free(t->vocab_slots);
    free(t->merge_slots);
    pcre2_code_free(t->re);
    free(t);
}

/* ---- BPE ---------------------------------------------------------------------------------------------- */

/* Lowest rank first, then leftmost: the order HF's merge queue pops. */
typedef struct {
    int32_t rank, pos, left, right; /* left/right: the ids the pair had when queued */
} heap_entry;

static bool heap_less(const heap_entry *a, const heap_entry *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(heap_entry *h, int *n, heap_entry e)
{
    int i = (*n)++;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!heap_less(&e, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}

static heap_entry heap_pop(heap_entry *h, int *n)
{
    heap_entry top = h[0], last = h[--(*n)];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && heap_less(&h[c + 1], &h[c])) c++;
        if (!heap_less(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = last;
    return top;
}

/* O(n log n) for long pieces: symbols in a linked list, candidate merges in a heap, stale ones skipped. */
static int merge_heap(const qt_tokenizer *t, int32_t *sym, int n)
{
    int32_t *next = malloc((size_t)n * 2 * sizeof *next);
    heap_entry *heap = malloc((size_t)n * 3 * sizeof *heap);
    if (!next || !heap) {
        free(next);
        free(heap);
        return -1;
    }
    int32_t *prev = next + n;
    int hn = 0;
    for (int i = 0; i < n; i++) {
        next[i] = i + 1 < n ? i + 1 : -1;
        prev[i] = i - 1;
    }
    int32_t mid = -1;
    for (int i = 0; i + 1 < n; i++) {
        int32_t r = merge_find(t, sym[i], sym[i + 1], &mid);
        if (r != INT32_MAX) heap_push(heap, &hn, (heap_entry){r, i, sym[i], sym[i + 1]});
    }
    while (hn > 0) {
        heap_entry e = heap_pop(heap, &hn);
        int p = e.pos, q = next[p];
        if (sym[p] != e.left || q < 0 || sym[q] != e.right) continue; /* one side has merged since */
        merge_find(t, e.left, e.right, &mid);
        sym[p] = mid;
        sym[q] = -1;
        next[p] = next[q];
        if (next[q] >= 0) prev[next[q]] = p;
        int32_t unused;
        if (prev[p] >= 0) {
            int32_t r = merge_find(t, sym[prev[p]], sym[p], &unused);
            if (r != INT32_MAX) heap_push(heap, &hn, (heap_entry){r, prev[p], sym[prev[p]], sym[p]});
        }
        if (next[p] >= 0) {
            int32_t r = merge_find(t, sym[p], sym[next[p]], &unused);
            if (r != INT32_MAX) heap_push(heap, &hn, (heap_entry){r, p, sym[p], sym[next[p]]});
        }
    }
    int m = 0;
    for (int i = 0; i >= 0; i = next[i])
        sym[m++] = sym[i];
    free(next);
    free(heap);
    return m;
}

/* O(n^2) with tiny constants, for the short pieces almost all text is made of. Same order as the heap. */
static int merge_scan(const qt_tokenizer *t, int32_t *sym, int n)
{
    int32_t rank[SCAN_MAX], mid[SCAN_MAX]; /* of the pair (i, i+1) */
    for (int i = 0; i + 1 < n; i++)
        rank[i] = merge_find(t, sym[i], sym[i + 1], &mid[i]);
    while (n > 1) {
        int best = 0;
        for (int i = 1; i + 1 < n; i++)
            if (rank[i] < rank[best]) best = i;
        if (rank[best] == INT32_MAX) break;
        sym[best] = mid[best];
        int tail = n - best - 2; /* symbols after the absorbed one */
        memmove(&sym[best + 1], &sym[best + 2], (size_t)tail * sizeof *sym);
        if (tail > 0) {
            memmove(&rank[best + 1], &rank[best + 2], (size_t)(tail - 1) * sizeof *rank);
            memmove(&mid[best + 1], &mid[best + 2], (size_t)(tail - 1) * sizeof *mid);
        }
        n--;
        if (best + 1 < n) rank[best] = merge_find(t, sym[best], sym[best + 1], &mid[best]);
        if (best > 0) rank[best - 1] = merge_find(t, sym[best - 1], sym[best], &mid[best - 1]);
    }
    return n;
}

int bpe_merge_piece(const qt_tokenizer *t, const uint8_t *piece, size_t n, int32_t *out, bpe_merge_mode mode)
{
    if (n == 0) return 0;
    if (n > INT32_MAX / 3) return -1;
    if (t->ignore_merges) {
        int32_t id = vocab_find(t, piece, n);
        if (id >= 0) {
            out[0] = id;
            return 1;
        }
    }
    for (size_t i = 0; i < n; i++)
        out[i] = t->byte_id[piece[i]];
    if (mode == BPE_MERGE_HEAP || (mode == BPE_MERGE_AUTO && n > SCAN_MAX)) return merge_heap(t, out, (int)n);
    if (n > SCAN_MAX) return -1;
    return merge_scan(t, out, (int)n);
}

/* ---- pre-tokenizer ------------------------------------------------------------------------------------ */

int bpe_pretokenize(const qt_tokenizer *t, const char *text, size_t n, bpe_piece_fn fn, void *ctx,
                    qt_error *err)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(t->re, NULL);
    if (!md) return qt_fail(err, QT_ERR_NOMEM, "tokenizer: out of memory for the regex match");
    int rc = -1;
    size_t pos = 0;
    while (pos < n) {
        int m = pcre2_match(t->re, (PCRE2_SPTR)text, n, pos, PCRE2_NO_UTF_CHECK, md, NULL);
        if (m == PCRE2_ERROR_JIT_STACKLIMIT) /* the interpreter keeps its frames on the heap */
            m = pcre2_match(t->re, (PCRE2_SPTR)text, n, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, NULL);
        if (m == PCRE2_ERROR_NOMATCH) { /* cannot happen (the regex covers every character); kept whole */
            if (fn(text + pos, n - pos, ctx, err)) goto done;
            break;
        }
        if (m < 0) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(m, msg, sizeof msg);
            qt_fail(err, QT_ERR_INVALID, "tokenizer: the pre-tokenizer regex failed at byte %zu: %s", pos,
                    (const char *)msg);
            goto done;
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (ov[0] > pos && fn(text + pos, ov[0] - pos, ctx, err)) /* Split "Isolated" keeps gaps as pieces */
            goto done;
        size_t end = ov[1];
        if (end == ov[0]) { /* an empty match (none in this regex) must still advance by a character */
            end++;
            while (end < n && ((uint8_t)text[end] & 0xC0) == 0x80)
                end++;
        }
        if (fn(text + ov[0], end - ov[0], ctx, err)) goto done;
        pos = end;
    }
    rc = 0;
done:
    pcre2_match_data_free(md);
    return rc;
}

/* ---- encoding ----------------------------------------------------------------------------------------- */

typedef struct {
    const qt_tokenizer *t;
    int32_t *ids;
    size_t n, cap;
} encoder;

static int reserve(encoder *e, size_t more, qt_error *err)
{
    if (e->cap - e->n >= more) return 0;
    size_t cap = e->cap ? e->cap : 64;
    while (cap - e->n < more) {
        if (cap > SIZE_MAX / 2 / sizeof *e->ids)
            return qt_fail(err, QT_ERR_NOMEM, "tokenizer: text too long");
        cap *= 2;
    }
    int32_t *ni = realloc(e->ids, cap * sizeof *ni);
    if (!ni) return qt_fail(err, QT_ERR_NOMEM, "tokenizer: out of memory for %zu ids", cap);
    e->ids = ni;
    e->cap = cap;
    return 0;
}

static int encode_piece(const char *piece, size_t len, void *ctx, qt_error *err)
{
    encoder *e = ctx;
    if (reserve(e, len, err)) return -1;
    int k = bpe_merge_piece(e->t, (const uint8_t *)piece, len, e->ids + e->n, BPE_MERGE_AUTO);
    if (k < 0) return qt_fail(err, QT_ERR_NOMEM, "tokenizer: out of memory merging a %zu-byte piece", len);
    e->n += (size_t)k;
    return 0;
}

static bool is_white_space(int32_t c)
{
    return (c >= 9 && c <= 13) || c == ' ' || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

static bool is_word_char(int32_t c)
{
    if (c == '_') return true;
    utf8proc_category_t k = utf8proc_category(c);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
           (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
}

/* The code point that ends before s[i] (i > 0); *start gets where it begins. */
static int32_t cp_before(const char *s, size_t i, size_t *start)
{
    size_t j = i - 1;
    while (j > 0 && ((uint8_t)s[j] & 0xC0) == 0x80)
        j--;
    utf8proc_int32_t c = -1;
    utf8proc_iterate((const uint8_t *)s + j, (utf8proc_ssize_t)(i - j), &c);
    *start = j;
    return c;
}

/* Leftmost-longest match of an added token (of the given kind) in s[from..n), as HF's Aho-Corasick finds
 * it; the span [*ms, *me) includes whitespace an lstrip/rstrip token swallows. */
static bool find_added(const qt_tokenizer *t, const char *s, size_t n, size_t from, bool normalized,
                       size_t *ms, size_t *me, int32_t *id)
{
    for (size_t i = from; i < n; i++) {
        uint8_t b = (uint8_t)s[i];
        for (int k = t->added_first[b]; k < t->added_first[b + 1]; k++) {
            const added_token *a = &t->added[k];
            if (a->normalized != normalized || a->len > n - i || memcmp(s + i, a->content, a->len)) continue;
            size_t st = i, en = i + a->len, j;
            if (a->single_word) {
                utf8proc_int32_t c = -1;
                if ((st > from && is_word_char(cp_before(s, st, &j))) ||
                    (en < n &&
                     utf8proc_iterate((const uint8_t *)s + en, (utf8proc_ssize_t)(n - en), &c) > 0 &&
                     is_word_char(c)))
                    continue;
            }
            if (a->lstrip)
                while (st > from && is_white_space(cp_before(s, st, &j)))
                    st = j;
            if (a->rstrip) {
                utf8proc_int32_t c;
                utf8proc_ssize_t k2;
                while (en < n &&
                       (k2 = utf8proc_iterate((const uint8_t *)s + en, (utf8proc_ssize_t)(n - en), &c)) > 0 &&
                       is_white_space(c))
                    en += (size_t)k2;
            }
            *ms = st;
            *me = en;
            *id = a->id;
            return true;
        }
    }
    return false;
}

/* Text after normalisation: normalized added tokens, then the regex and BPE. */
static int encode_normalized(encoder *e, const char *s, size_t n, qt_error *err)
{
    size_t pos = 0, ms, me;
    int32_t id;
    while (e->t->has_normalized_added && find_added(e->t, s, n, pos, true, &ms, &me, &id)) {
        if (bpe_pretokenize(e->t, s + pos, ms - pos, encode_piece, e, err) || reserve(e, 1, err)) return -1;
        e->ids[e->n++] = id;
        pos = me;
    }
    return bpe_pretokenize(e->t, s + pos, n - pos, encode_piece, e, err);
}

/* A segment between added tokens: NFC, then on. Code points below U+0300 never change under NFC, so text
 * made only of them skips utf8proc. */
static int encode_segment(encoder *e, const char *s, size_t n, qt_error *err)
{
    if (n == 0) return 0;
    bool stable = true;
    for (size_t i = 0; i < n && stable; i++)
        stable = (uint8_t)s[i] < 0xCC;
    if (!e->t->nfc || stable) return encode_normalized(e, s, n, err);
    utf8proc_uint8_t *norm = NULL;
    utf8proc_ssize_t nn =
        utf8proc_map((const uint8_t *)s, (utf8proc_ssize_t)n, &norm, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (nn < 0)
        return qt_fail(err, nn == UTF8PROC_ERROR_NOMEM ? QT_ERR_NOMEM : QT_ERR_INVALID,
                       "tokenizer: NFC normalisation failed: %s", utf8proc_errmsg(nn));
    int rc = encode_normalized(e, (const char *)norm, (size_t)nn, err);
    free(norm);
    return rc;
}

int qt_tokenize(const qt_tokenizer *t, const char *utf8, int32_t **ids, size_t *n_ids, qt_error *err)
{
    if (ids) *ids = NULL;
    if (n_ids) *n_ids = 0;
    if (!t || !utf8 || !ids || !n_ids) return qt_fail(err, QT_ERR_INVALID, "qt_tokenize: a NULL argument");
    size_t n = strlen(utf8);
    size_t bad = qt_utf8_valid_prefix(utf8, n);
    if (bad < n)
        return qt_fail(err, QT_ERR_INVALID, "text: invalid UTF-8 at byte %zu (0x%02x)", bad,
                       (uint8_t)utf8[bad]);
    encoder e = {.t = t};
    if (reserve(&e, n / 3 + 16, err)) return -1;
    size_t pos = 0, ms, me;
    int32_t id;
    while (find_added(t, utf8, n, pos, false, &ms, &me, &id)) {
        if (encode_segment(&e, utf8 + pos, ms - pos, err) || reserve(&e, 1, err)) goto fail;
        e.ids[e.n++] = id;
        pos = me;
    }
    if (encode_segment(&e, utf8 + pos, n - pos, err)) goto fail;
    *ids = e.ids;
    *n_ids = e.n;
    return 0;
fail:
    free(e.ids);
    return -1;
}

/* ---- lookups and decoding ----------------------------------------------------------------------------- */

int32_t qt_tokenizer_token_id(const qt_tokenizer *t, const char *text)
{
    if (!t || !text) return -1;
    size_t n = strlen(text);
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].len == n && !memcmp(t->added[i].content, text, n)) return t->added[i].id;
    return vocab_find(t, (const uint8_t *)text, n);
}

int32_t qt_tokenizer_n_ids(const qt_tokenizer *t)
{
    return t ? t->n_ids : 0;
}

/* Appends s[0..n) to out, replacing each maximal ill-formed subsequence by U+FFFD as Rust's
 * String::from_utf8_lossy (HF's ByteLevel decoder) does. */
static size_t lossy_utf8(const uint8_t *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint8_t b = s[i];
        size_t need = b < 0x80                   ? 0
                      : (b >= 0xC2 && b <= 0xDF) ? 1
                      : (b >= 0xE0 && b <= 0xEF) ? 2
                      : (b >= 0xF0 && b <= 0xF4) ? 3
                                                 : 99;
        size_t k = 1;
        if (need != 99) {
            for (; k <= need && i + k < n; k++) {
                uint8_t c = s[i + k];
                uint8_t lo = 0x80, hi = 0xBF;
                if (k == 1) { /* the second byte carries the overlong / surrogate / range limits */
                    lo = b == 0xE0 ? 0xA0 : b == 0xF0 ? 0x90 : 0x80;
                    hi = b == 0xED ? 0x9F : b == 0xF4 ? 0x8F : 0xBF;
                }
                if (c < lo || c > hi) break;
            }
        }
        if (need != 99 && k == need + 1) {
            memcpy(out + o, s + i, k);
            o += k;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
        }
        i += k;
    }
    return o;
}

char *qt_detokenize(const qt_tokenizer *t, const int32_t *ids, size_t n_ids, qt_error *err)
{
    if (!t || (!ids && n_ids)) {
        qt_fail(err, QT_ERR_INVALID, "qt_detokenize: a NULL argument");
        return NULL;
    }
    size_t total = 0;
    for (size_t i = 0; i < n_ids; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_ids || t->tok_off[ids[i]] == UINT32_MAX) {
            qt_fail(err, QT_ERR_INVALID, "ids: %d (position %zu) is not a token of this tokenizer", ids[i],
                    i);
            return NULL;
        }
        total += t->tok_len[ids[i]];
    }
    uint8_t *raw = malloc(total + 1);
    char *out = malloc(total * 3 + 1); /* each bad byte may become 3 */
    if (!raw || !out) {
        free(raw);
        free(out);
        qt_fail(err, QT_ERR_NOMEM, "qt_detokenize: out of memory for %zu bytes", total);
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n_ids; i++) {
        memcpy(raw + o, t->arena + t->tok_off[ids[i]], t->tok_len[ids[i]]);
        o += t->tok_len[ids[i]];
    }
    out[lossy_utf8(raw, total, out)] = 0;
    free(raw);
    return out;
}
