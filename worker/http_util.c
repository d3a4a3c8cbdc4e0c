/* http_util.c - form fields, cookies, HTML escaping (see http_util.h).
 * SPDX-License-Identifier: MIT */
#include "http_util.h"

#include <string.h>
#include <strings.h>

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

/* Split an authority A (ALEN bytes: host, "[v6]", either with ":port")
 * into its host and port number; DEF when there is no port. Returns
 * RC_OK, or RC_ERR for an empty host or a bad port. */
static int
http_util_authority(const char *a, size_t alen, int def, const char **host,
                    size_t *hostlen, long *port)
{
    size_t hl = alen;
    long n = 0;

    if (alen > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', alen);
        if (close == NULL)
            return RC_ERR;
        hl = (size_t) (close - a) + 1;
    } else {
        const char *colon = memchr(a, ':', alen);
        if (colon != NULL)
            hl = (size_t) (colon - a);
    }
    if (hl == 0)
        return RC_ERR;
    *host = a;
    *hostlen = hl;
    if (hl == alen) {
        *port = def;
        return RC_OK;
    }
    if (a[hl] != ':')
        return RC_ERR;
    if (hl + 1 == alen) {
        *port = def;            /* "host:" means the default too */
        return RC_OK;
    }
    for (size_t i = hl + 1; i < alen; i++) {
        if (a[i] < '0' || a[i] > '9')
            return RC_ERR;
        n = n * 10 + (a[i] - '0');
        if (n > 65535)
            return RC_ERR;
    }
    *port = n;
    return RC_OK;
}

bool
http_util_same_origin(const char *s, size_t len, bool https,
                      const char *host, size_t hlen)
{
    const char *p, *h1, *h2;
    size_t alen, l1, l2;
    long port1, port2;
    int def = https ? 443 : 80;

    if (https) {
        if (len < 8 || strncasecmp(s, "https://", 8) != 0)
            return false;
        p = s + 8;
    } else {
        if (len < 7 || strncasecmp(s, "http://", 7) != 0)
            return false;
        p = s + 7;
    }
    for (alen = 0; p + alen < s + len; alen++) {
        char ch = p[alen];
        if (ch == '/' || ch == '?' || ch == '#')
            break;
        if (ch == '@' || ch == '\\')
            return false;
    }
    if (http_util_authority(p, alen, def, &h1, &l1, &port1) != RC_OK
        || hlen == 0
        || http_util_authority(host, hlen, def, &h2, &l2, &port2) != RC_OK)
        return false;
    return port1 == port2 && l1 == l2 && strncasecmp(h1, h2, l1) == 0;
}
