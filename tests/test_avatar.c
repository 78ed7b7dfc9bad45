/* test_avatar.c — profile avatars through the studio: PNG with transparency (over white, fitted within
 * 512 x 512), JPEG with an EXIF orientation (turned upright), lossless WebP (exact pixels), the size and
 * format refusals, removal, cascade with the profile, and the sweep keeping an avatar. The pictures are made
 * here with the same libraries' encoders, so the expected pixels are known. */
#include "studio/image.h"
#include "studio/studio.h"
#include "test_util.h"

#include <jpeglib.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <webp/encode.h>

static void *make_png_rgba(int w, int h, const unsigned char *rgba, size_t *size)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = (png_uint_32)w;
    pi.height = (png_uint_32)h;
    pi.format = PNG_FORMAT_RGBA;
    png_alloc_size_t n = 0;
    png_image_write_to_memory(&pi, NULL, &n, 0, rgba, 0, NULL);
    void *out = malloc(n);
    png_image_write_to_memory(&pi, out, &n, 0, rgba, 0, NULL);
    *size = n;
    return out;
}

/* A JPEG of rgb (w x h) with an EXIF APP1 segment giving orientation o (0: none). */
static void *make_jpeg(int w, int h, const unsigned char *rgb, int o, size_t *size)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned char *out = NULL;
    unsigned long n = 0;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &n);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    if (o) {
        /* "Exif\0\0", a little-endian TIFF header, IFD0 with one entry: Orientation (0x0112) SHORT = o */
        unsigned char exif[] = {'E', 'x',  'i',  'f', 0,
                                0,   'I',  'I',  42,  0,
                                8,   0,    0,    0,   1,
                                0,   0x12, 0x01, 3,   0,
                                1,   0,    0,    0,   (unsigned char)o,
                                0,   0,    0,    0,   0,
                                0,   0};
        jpeg_write_marker(&c, JPEG_APP0 + 1, exif, sizeof exif);
    }
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)rgb + (size_t)c.next_scanline * (size_t)w * 3;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *size = n;
    return out;
}

static void le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8), p[2] = (unsigned char)(v >> 16),
    p[3] = (unsigned char)(v >> 24);
}

/* simple (RIFF, WEBP, one VP8L chunk) -> extended: RIFF, WEBP, VP8X (EXIF flag, canvas), the VP8L chunk and
 * an EXIF chunk (bare TIFF data, as most writers store it) giving orientation o. */
static unsigned char *webp_with_exif(const uint8_t *simple, size_t n, int w, int h, int o, size_t *size)
{
    unsigned char tiff[] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, (unsigned char)o,
                            0,   0,   0,  0, 0, 0, 0};
    size_t body = n - 12; /* the VP8L chunk of the simple file */
    size_t total = 12 + 18 + body + 8 + sizeof tiff;
    unsigned char *f = calloc(1, total);
    memcpy(f, "RIFF", 4);
    le32(f + 4, (uint32_t)(total - 8));
    memcpy(f + 8, "WEBP", 4);
    memcpy(f + 12, "VP8X", 4);
    le32(f + 16, 10);
    f[20] = 0x08 | 0x10;             /* EXIF, alpha */
    le32(f + 24, (uint32_t)(w - 1)); /* 24-bit canvas width - 1, then height - 1 */
    le32(f + 27, (uint32_t)(h - 1));
    memcpy(f + 30, simple + 12, body);
    memcpy(f + 30 + body, "EXIF", 4);
    le32(f + 34 + body, sizeof tiff);
    memcpy(f + 38 + body, tiff, sizeof tiff);
    *size = total;
    return f;
}

static const unsigned char *px(const studio_image *img, int x, int y)
{
    return img->rgb + ((size_t)y * img->w + x) * 3;
}

static int near(const unsigned char *p, int r, int g, int b, int tol)
{
    return abs(p[0] - r) <= tol && abs(p[1] - g) <= tol && abs(p[2] - b) <= tol;
}

/* Reads the stored avatar back as an image. */
static int stored(studio *s, const char *pid, studio_image *img)
{
    studio_error err = {0};
    char *path = studio_avatar_path(s, pid, &err);
    if (!path) return -1;
    FILE *f = fopen(path, "rb");
    static unsigned char buf[8 << 20];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    free(path);
    return studio_image_decode(buf, n, img, &err);
}

int main(void)
{
    char root[] = "/tmp/test_avatar.XXXXXX";
    if (!mkdtemp(root)) return 1;
    studio_error err = {0};
    studio *s = studio_open(root, &err);
    CHECK(s, "studio_open: %s", err.msg);
    if (!s) return 1;
    json_t *body = json_pack("{s:s}", "name", "Pictured");
    json_t *p = studio_profile_create(s, body, &err);
    json_decref(body);
    const char *pid = json_string_value(json_object_get(p, "id"));
    studio_image img = {0};

    /* PNG 1024 x 512: left half opaque red, right half fully transparent green -> 512 x 256, red | white */
    int w = 1024, h = 512;
    unsigned char *rgba = malloc((size_t)w * h * 4);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *q = rgba + ((size_t)y * w + x) * 4;
            q[0] = x < w / 2 ? 255 : 0, q[1] = x < w / 2 ? 0 : 255, q[2] = 0, q[3] = x < w / 2 ? 255 : 0;
        }
    size_t n;
    void *png = make_png_rgba(w, h, rgba, &n);
    json_t *pp = studio_avatar_set(s, pid, png, n, &err);
    CHECK(pp && json_is_string(json_object_get(pp, "avatar_path")), "PNG avatar set: %s", err.msg);
    json_decref(pp);
    CHECK(stored(s, pid, &img) == 0 && img.w == 512 && img.h == 256, "PNG fitted to 512 x 256, got %d x %d",
          img.w, img.h);
    if (img.rgb) {
        CHECK(near(px(&img, 10, 10), 255, 0, 0, 0), "opaque red stays red");
        CHECK(near(px(&img, 400, 100), 255, 255, 255, 0), "transparent becomes white, got %d %d %d",
              px(&img, 400, 100)[0], px(&img, 400, 100)[1], px(&img, 400, 100)[2]);
    }
    studio_image_free(&img);
    free(png);

    /* JPEG 300 x 200 stored with orientation 6 (turn 90 degrees clockwise to view): the stored top-left red
     * block must end up top-right of a 200 x 300 picture */
    w = 300, h = 200;
    unsigned char *rgb = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *q = rgb + ((size_t)y * w + x) * 3;
            int red = x < 100 && y < 100;
            q[0] = red ? 230 : 20, q[1] = 20, q[2] = red ? 20 : 230;
        }
    for (int o = 0; o <= 8; o += 2) { /* none, 2 (mirror), 4 (flip), 6 and 8 (turns) */
        void *jpg = make_jpeg(w, h, rgb, o == 0 ? 0 : o, &n);
        pp = studio_avatar_set(s, pid, jpg, n, &err);
        CHECK(pp, "JPEG (orientation %d) avatar set: %s", o, err.msg);
        json_decref(pp);
        free(jpg);
        int turned = o >= 5;
        CHECK(stored(s, pid, &img) == 0 && img.w == (turned ? 200 : 300) && img.h == (turned ? 300 : 200),
              "orientation %d: %d x %d", o, img.w, img.h);
        if (!img.rgb) continue;
        /* where the red block lands: none top-left, 2 top-right, 4 bottom-left, 6 top-right, 8 bottom-left */
        int rx = (o == 2 || o == 6) ? img.w - 30 : 30, ry = (o == 4 || o == 8) ? img.h - 30 : 30;
        CHECK(near(px(&img, rx, ry), 230, 20, 20, 12), "orientation %d: red at (%d,%d), got %d %d %d", o, rx,
              ry, px(&img, rx, ry)[0], px(&img, rx, ry)[1], px(&img, rx, ry)[2]);
        CHECK(near(px(&img, img.w - 1 - rx, img.h - 1 - ry), 20, 20, 230, 12),
              "orientation %d: blue opposite", o);
        studio_image_free(&img);
    }
    free(rgb);

    /* lossless WebP 100 x 50, half-transparent blue over white = (128, 128, 255) */
    w = 100, h = 50;
    for (size_t i = 0; i < (size_t)w * h; i++)
        rgba[4 * i] = 0, rgba[4 * i + 1] = 0, rgba[4 * i + 2] = 255, rgba[4 * i + 3] = 128;
    uint8_t *webp = NULL;
    n = WebPEncodeLosslessRGBA(rgba, w, h, w * 4, &webp);
    CHECK(n > 0, "WebP encoder");
    pp = studio_avatar_set(s, pid, webp, n, &err);
    CHECK(pp, "WebP avatar set: %s", err.msg);
    json_decref(pp);
    CHECK(stored(s, pid, &img) == 0 && img.w == 100 && img.h == 50 &&
              near(px(&img, 50, 25), 127, 127, 255, 1),
          "WebP kept at 100 x 50, blended over white (%d %d %d)", img.rgb ? px(&img, 50, 25)[0] : -1,
          img.rgb ? px(&img, 50, 25)[1] : -1, img.rgb ? px(&img, 50, 25)[2] : -1);
    studio_image_free(&img);
    /* the same picture with a red left column, in an extended WebP whose EXIF says orientation 8 (turn 90
     * degrees counter-clockwise to view): 50 x 100, the red column along the bottom */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *q = rgba + ((size_t)y * w + x) * 4;
            q[0] = x < 10 ? 255 : 0, q[1] = 0, q[2] = x < 10 ? 0 : 255, q[3] = 255;
        }
    WebPFree(webp);
    n = WebPEncodeLosslessRGBA(rgba, w, h, w * 4, &webp);
    size_t xn;
    unsigned char *xw = webp_with_exif(webp, n, w, h, 8, &xn);
    pp = studio_avatar_set(s, pid, xw, xn, &err);
    CHECK(pp, "WebP with EXIF avatar set: %s", err.msg);
    json_decref(pp);
    CHECK(stored(s, pid, &img) == 0 && img.w == 50 && img.h == 100,
          "WebP orientation 8: 50 x 100, got %d x %d", img.w, img.h);
    if (img.rgb) {
        CHECK(near(px(&img, 25, 95), 255, 0, 0, 0) && near(px(&img, 25, 5), 0, 0, 255, 0),
              "WebP orientation 8: the red column is along the bottom");
    }
    studio_image_free(&img);
    free(xw);
    WebPFree(webp);

    /* refusals: too large, not a picture, damaged, unknown profile; each leaves the avatar as it was */
    char *before = studio_avatar_path(s, pid, &err);
    struct stat sb0, sb1;
    stat(before, &sb0);
    size_t big_n = STUDIO_AVATAR_MAX + 1;
    unsigned char *big = calloc(1, big_n);
    memcpy(big, "\x89PNG\r\n\x1a\n", 8);
    CHECK(!studio_avatar_set(s, pid, big, big_n, &err) && err.kind == STUDIO_TOO_LARGE,
          "over 5 MB: too large");
    CHECK(!studio_avatar_set(s, pid, "GIF89a......", 12, &err) && err.kind == STUDIO_UNSUPPORTED_MEDIA,
          "a GIF: unsupported (%d)", err.kind);
    png = make_png_rgba(w, h, rgba, &n);
    CHECK(!studio_avatar_set(s, pid, png, n / 2, &err) && err.kind == STUDIO_BAD_INPUT,
          "a truncated PNG: bad (%d %s)", err.kind, err.msg);
    unsigned char jpeg_head[] = {0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F',
                                 0,    1,    1,    0,    0, 1,  0,   1,   0,   0};
    CHECK(!studio_avatar_set(s, pid, jpeg_head, sizeof jpeg_head, &err) && err.kind == STUDIO_BAD_INPUT,
          "a JPEG header alone: bad (%d %s)", err.kind, err.msg);
    CHECK(!studio_avatar_set(s, "00000000-0000-4000-8000-000000000000", png, n, &err) &&
              err.kind == STUDIO_NOT_FOUND,
          "unknown profile: not found");
    stat(before, &sb1);
    CHECK(sb0.st_size == sb1.st_size && sb0.st_mtime == sb1.st_mtime, "refusals leave the avatar as it was");
    free(big);
    free(png);

    /* the sweep keeps an avatar; removal; the profile's deletion takes it along */
    studio_close(s);
    s = studio_open(root, &err);
    CHECK(s && access(before, F_OK) == 0, "reopening (the sweep) keeps the avatar");
    CHECK(studio_avatar_delete(s, pid, &err) == 0 && access(before, F_OK) != 0,
          "avatar removed with its file");
    CHECK(studio_avatar_delete(s, pid, &err) != 0 && err.kind == STUDIO_NOT_FOUND,
          "removing it again: not found");
    char *none = studio_avatar_path(s, pid, &err);
    CHECK(!none && err.kind == STUDIO_NOT_FOUND, "no avatar: not found");
    png = make_png_rgba(w, h, rgba, &n);
    pp = studio_avatar_set(s, pid, png, n, &err);
    json_decref(pp);
    free(png);
    CHECK(studio_profile_delete(s, pid, &err) == 0 && access(before, F_OK) != 0,
          "the profile takes its avatar along");
    char dir[600];
    snprintf(dir, sizeof dir, "%s/profiles/%s", root, pid);
    CHECK(access(dir, F_OK) != 0, "and its directory");
    free(before);
    free(rgba);
    json_decref(p);
    studio_close(s);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0) return 1;
    printf("test_avatar: %d failure(s)\n", failures);
    return failures ? 1 : 0;
}
