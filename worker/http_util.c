/* http_util.c - form fields, cookies, HTML escaping (see http_util.h).
 * SPDX-License-Identifier: MIT */
#include "http_util.h"

#include <string.h>

#include "defs.h"
#include "http_parse.h"

int
http_util_form_field(const char *body, size_t len, const char *name,
                     char *out, size_t cap)
{
    size_t nl = strlen(name), i = 0;

    while (i < len) {
        size_t start = i, end, eq;
        while (i < len && body[i] != '&')
            i++;
        end = i++;
        for (eq = start; eq < end && body[eq] != '='; eq++)
            ;
        if (eq - start == nl && memcmp(body + start, name, nl) == 0) {
            size_t vl = eq < end ? end - eq - 1 : 0;
            int n = http_decode_form_cap(body + eq + 1, vl, out, cap);
            return n < 0 ? RC_ERR : n;
        }
    }
    return RC_DONE;
}

int
http_util_cookie(const char *hdr, size_t len, const char *name, char *out,
                 size_t cap)
{
    size_t nl = strlen(name), i = 0;

    while (i < len) {
        size_t ks, ke, vs, ve;
        while (i < len && (hdr[i] == ' ' || hdr[i] == '\t' || hdr[i] == ';'))
            i++;
        ks = i;
        while (i < len && hdr[i] != '=' && hdr[i] != ';')
            i++;
        ke = i;
        while (ke > ks && (hdr[ke - 1] == ' ' || hdr[ke - 1] == '\t'))
            ke--;
        if (i >= len || hdr[i] != '=') {
            continue;               /* a pair without '=' */
        }
        i++;
        while (i < len && (hdr[i] == ' ' || hdr[i] == '\t'))
            i++;
        vs = i;
        while (i < len && hdr[i] != ';')
            i++;
        ve = i;
        while (ve > vs && (hdr[ve - 1] == ' ' || hdr[ve - 1] == '\t'))
            ve--;
        if (ve - vs >= 2 && hdr[vs] == '"' && hdr[ve - 1] == '"') {
            vs++;
            ve--;
        }
        if (ke - ks == nl && memcmp(hdr + ks, name, nl) == 0) {
            if (ve - vs >= cap)
                return RC_ERR;
            memcpy(out, hdr + vs, ve - vs);
            out[ve - vs] = '\0';
            return (int) (ve - vs);
        }
    }
    return RC_DONE;
}

int
http_util_html_escape(const char *in, size_t len, char *out, size_t cap)
{
    size_t o = 0;

    if (cap == 0)
        return RC_ERR;
    for (size_t i = 0; i < len; i++) {
        const char *rep = NULL;
        size_t rl = 1;
        switch (in[i]) {
        case '&':  rep = "&amp;";  rl = 5; break;
        case '<':  rep = "&lt;";   rl = 4; break;
        case '>':  rep = "&gt;";   rl = 4; break;
        case '"':  rep = "&quot;"; rl = 6; break;
        case '\'': rep = "&#39;";  rl = 5; break;
        }
        if (o + rl >= cap)
            return RC_ERR;
        if (rep != NULL)
            memcpy(out + o, rep, rl);
        else
            out[o] = in[i];
        o += rl;
    }
    out[o] = '\0';
    return (int) o;
}
