/* image.c — see image.h. PNG through libpng's simplified API, JPEG through libjpeg(-turbo) with its errors
 * caught by setjmp (libjpeg would otherwise exit the process), WebP through libwebp, and the EXIF orientation
 * of a JPEG (APP1) or a WebP (its EXIF chunk, found with libwebpdemux) read with libexif. Each decoder reads
 * the dimensions first and refuses a picture over STUDIO_IMAGE_MAX_PIXELS before allocating its pixels. */
#include "studio/image.h"

#include "studio/studio_internal.h"

#include <jpeglib.h>
#include <libexif/exif-data.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>
#include <webp/demux.h>

void studio_image_free(studio_image *img)
{
    if (!img) return;
    free(img->rgb);
    memset(img, 0, sizeof *img);
}

static int too_big(int w, int h, studio_error *err)
{
    if (w <= 0 || h <= 0 || (unsigned long long)w * (unsigned long long)h > STUDIO_IMAGE_MAX_PIXELS)
        return studio_fail(err, STUDIO_BAD_INPUT, "file",
                           "file: a %d x %d picture is over the %u pixel limit", w, h,
                           STUDIO_IMAGE_MAX_PIXELS);
    return 0;
}

/* RGBA (w*h*4) over white into out->rgb. */
static int flatten(const unsigned char *rgba, int w, int h, studio_image *out, studio_error *err)
{
    size_t n = (size_t)w * (size_t)h;
    out->rgb = malloc(n * 3);
    if (!out->rgb) return studio_fail(err, STUDIO_INTERNAL, NULL, "image: out of memory");
    for (size_t i = 0; i < n; i++) {
        unsigned a = rgba[4 * i + 3];
        for (int c = 0; c < 3; c++)
            out->rgb[3 * i + c] = (unsigned char)((rgba[4 * i + c] * a + 255u * (255u - a) + 127u) / 255u);
    }
    out->w = w;
    out->h = h;
    return 0;
}

static int decode_png(const void *bytes, size_t size, studio_image *out, studio_error *err)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&pi, bytes, size))
        return studio_fail(err, STUDIO_BAD_INPUT, "file", "file: not a readable PNG (%s)", pi.message);
    if (too_big((int)pi.width, (int)pi.height, err) < 0) {
        png_image_free(&pi);
        return -1;
    }
    pi.format = PNG_FORMAT_RGBA;
    unsigned char *rgba = malloc(PNG_IMAGE_SIZE(pi));
    if (!rgba) {
        png_image_free(&pi);
        return studio_fail(err, STUDIO_INTERNAL, NULL, "image: out of memory");
    }
    if (!png_image_finish_read(&pi, NULL, rgba, 0, NULL)) {
        free(rgba);
        return studio_fail(err, STUDIO_BAD_INPUT, "file", "file: damaged PNG (%s)", pi.message);
    }
    int rc = flatten(rgba, (int)pi.width, (int)pi.height, out, err);
    free(rgba);
    return rc;
}

typedef struct {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_fail(j_common_ptr cinfo)
{
    jpeg_err *e = (jpeg_err *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jump, 1);
}

static void jpeg_quiet(j_common_ptr cinfo, int level)
{
    (void)cinfo;
    (void)level; /* warnings (a truncated scan is padded) are not worth a log line per upload */
}

/* EXIF orientation (1-8) of a JPEG, or of an EXIF block ("Exif\0\0" + TIFF), 1 when it has none. */
static int exif_orientation(const void *bytes, size_t size)
{
    ExifData *ed = exif_data_new_from_data(bytes, (unsigned int)size);
    if (!ed) return 1;
    int o = 1;
    ExifEntry *e = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
    if (e && e->format == EXIF_FORMAT_SHORT && e->components >= 1 && e->data && e->size >= 2)
        o = exif_get_short(e->data, exif_data_get_byte_order(ed));
    exif_data_unref(ed);
    return o >= 1 && o <= 8 ? o : 1;
}

static int decode_jpeg(const void *bytes, size_t size, studio_image *out, studio_error *err)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_err jerr;
    unsigned char *volatile rgb = NULL;
    cinfo.err = jpeg_std_error(&jerr.mgr);
    jerr.mgr.error_exit = jpeg_fail;
    jerr.mgr.emit_message = jpeg_quiet;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(rgb);
        return studio_fail(err, STUDIO_BAD_INPUT, "file", "file: damaged JPEG (%s)", jerr.msg);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, bytes, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    if (too_big((int)cinfo.image_width, (int)cinfo.image_height, err) < 0) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&cinfo);
        return studio_fail(err, STUDIO_BAD_INPUT, "file",
                           "file: CMYK JPEGs are not supported; save it as RGB");
    }
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
    rgb = malloc((size_t)w * (size_t)h * 3);
    if (!rgb) {
        jpeg_destroy_decompress(&cinfo);
        return studio_fail(err, STUDIO_INTERNAL, NULL, "image: out of memory");
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = rgb + (size_t)cinfo.output_scanline * (size_t)w * 3;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    out->rgb = rgb;
    out->w = w;
    out->h = h;
    return 0;
}

static int orient(studio_image *img, int o, studio_error *err);

/* EXIF orientation of a WebP (its EXIF chunk holds the TIFF data, with or without the "Exif\0\0" header
 * libexif wants), 1 when it has none. */
static int webp_orientation(const void *bytes, size_t size)
{
    WebPData data = {bytes, size};
    WebPDemuxer *dmx = WebPDemux(&data);
    WebPChunkIterator it;
    int o = 1;
    if (dmx && WebPDemuxGetChunk(dmx, "EXIF", 1, &it)) {
        size_t n = it.chunk.size;
        int bare = n < 6 || memcmp(it.chunk.bytes, "Exif\0\0", 6) != 0;
        unsigned char *exif = n < (64u << 20) ? malloc(n + 6) : NULL;
        if (exif) {
            memcpy(exif, "Exif\0\0", bare ? 6 : 0);
            memcpy(exif + (bare ? 6 : 0), it.chunk.bytes, n);
            o = exif_orientation(exif, n + (bare ? 6 : 0));
            free(exif);
        }
        WebPDemuxReleaseChunkIterator(&it);
    }
    WebPDemuxDelete(dmx);
    return o;
}

static int decode_webp(const void *bytes, size_t size, studio_image *out, studio_error *err)
{
    int w, h;
    if (!WebPGetInfo(bytes, size, &w, &h))
        return studio_fail(err, STUDIO_BAD_INPUT, "file", "file: not a readable WebP image");
    if (too_big(w, h, err) < 0) return -1;
    unsigned char *rgba = WebPDecodeRGBA(bytes, size, &w, &h);
    if (!rgba) return studio_fail(err, STUDIO_BAD_INPUT, "file", "file: damaged WebP image");
    int rc = flatten(rgba, w, h, out, err);
    WebPFree(rgba);
    if (rc == 0 && (rc = orient(out, webp_orientation(bytes, size), err)) < 0) studio_image_free(out);
    return rc;
}

/* Applies EXIF orientation o (2-8) so the picture stands upright. */
static int orient(studio_image *img, int o, studio_error *err)
{
    if (o <= 1) return 0;
    int w = img->w, h = img->h, swap = o >= 5;
    int nw = swap ? h : w, nh = swap ? w : h;
    unsigned char *dst = malloc((size_t)w * (size_t)h * 3);
    if (!dst) return studio_fail(err, STUDIO_INTERNAL, NULL, "image: out of memory");
    for (int y = 0; y < nh; y++)
        for (int x = 0; x < nw; x++) {
            int sx, sy; /* the stored pixel shown at (x, y) */
            switch (o) {
            case 2:
                sx = w - 1 - x, sy = y;
                break; /* mirrored */
            case 3:
                sx = w - 1 - x, sy = h - 1 - y;
                break; /* turned 180 */
            case 4:
                sx = x, sy = h - 1 - y;
                break; /* flipped */
            case 5:
                sx = y, sy = x;
                break; /* transposed */
            case 6:
                sx = y, sy = h - 1 - x;
                break; /* turned 90 clockwise to view */
            case 7:
                sx = w - 1 - y, sy = h - 1 - x;
                break; /* transversed */
            default:
                sx = w - 1 - y, sy = x;
                break; /* 8: turned 90 counter-clockwise to view */
            }
            memcpy(dst + ((size_t)y * nw + x) * 3, img->rgb + ((size_t)sy * w + sx) * 3, 3);
        }
    free(img->rgb);
    img->rgb = dst;
    img->w = nw;
    img->h = nh;
    return 0;
}

int studio_image_decode(const void *bytes, size_t size, studio_image *out, studio_error *err)
{
    const unsigned char *b = bytes;
    memset(out, 0, sizeof *out);
    if (size >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) return decode_png(bytes, size, out, err);
    if (size >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4))
        return decode_webp(bytes, size, out, err);
    if (size >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) {
        if (decode_jpeg(bytes, size, out, err) < 0) return -1;
        if (orient(out, exif_orientation(bytes, size), err) < 0) {
            studio_image_free(out);
            return -1;
        }
        return 0;
    }
    return studio_fail(err, STUDIO_UNSUPPORTED_MEDIA, "file", "file: not a PNG, JPEG or WebP image");
}

int studio_image_fit(studio_image *img, int max_side, studio_error *err)
{
    if (img->w <= max_side && img->h <= max_side) return 0;
    int nw, nh;
    if (img->w >= img->h) {
        nw = max_side;
        nh = (int)(((long long)img->h * max_side + img->w / 2) / img->w);
    } else {
        nh = max_side;
        nw = (int)(((long long)img->w * max_side + img->h / 2) / img->h);
    }
    if (nw < 1) nw = 1;
    if (nh < 1) nh = 1;
    unsigned char *dst = malloc((size_t)nw * (size_t)nh * 3);
    if (!dst) return studio_fail(err, STUDIO_INTERNAL, NULL, "image: out of memory");
    /* area average: each output pixel is the mean of the input pixels its box covers */
    for (int y = 0; y < nh; y++) {
        int y0 = (int)((long long)y * img->h / nh), y1 = (int)((long long)(y + 1) * img->h / nh);
        if (y1 <= y0) y1 = y0 + 1;
        for (int x = 0; x < nw; x++) {
            int x0 = (int)((long long)x * img->w / nw), x1 = (int)((long long)(x + 1) * img->w / nw);
            if (x1 <= x0) x1 = x0 + 1;
            unsigned long long sum[3] = {0, 0, 0};
            for (int yy = y0; yy < y1; yy++)
                for (int xx = x0; xx < x1; xx++)
                    for (int c = 0; c < 3; c++)
                        sum[c] += img->rgb[((size_t)yy * img->w + xx) * 3 + c];
            unsigned long long n = (unsigned long long)(y1 - y0) * (unsigned long long)(x1 - x0);
            for (int c = 0; c < 3; c++)
                dst[((size_t)y * nw + x) * 3 + c] = (unsigned char)((sum[c] + n / 2) / n);
        }
    }
    free(img->rgb);
    img->rgb = dst;
    img->w = nw;
    img->h = nh;
    return 0;
}

int studio_image_encode_png(const studio_image *img, void **out, size_t *size, studio_error *err)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = (png_uint_32)img->w;
    pi.height = (png_uint_32)img->h;
    pi.format = PNG_FORMAT_RGB;
    png_alloc_size_t n = 0;
    *out = NULL;
    if (!png_image_write_to_memory(&pi, NULL, &n, 0, img->rgb, 0, NULL) || !(*out = malloc(n)) ||
        !png_image_write_to_memory(&pi, *out, &n, 0, img->rgb, 0, NULL)) {
        free(*out);
        *out = NULL;
        return studio_fail(err, STUDIO_INTERNAL, NULL, "image: cannot write PNG: %s", pi.message);
    }
    *size = n;
    return 0;
}
