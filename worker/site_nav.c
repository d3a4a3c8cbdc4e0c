/* site_nav.c - the signed-in navigation bar (see site_nav.h).
 * SPDX-License-Identifier: MIT */
#include "site_nav.h"

#include <string.h>

#include "http_util.h"

#define SITE_NAV_TOKEN_HEX 64

bool
site_nav_signed_in(const char *cookie, size_t len)
{
    char token[SITE_NAV_TOKEN_HEX + 1];

    if (len == 0
        || http_util_cookie(cookie, len, "sid", token, sizeof(token))
           != SITE_NAV_TOKEN_HEX)
        return false;
    for (int i = 0; i < SITE_NAV_TOKEN_HEX; i++) {
        if (!((token[i] >= '0' && token[i] <= '9')
              || (token[i] >= 'a' && token[i] <= 'f')))
            return false;
    }
    return true;
}

long
site_nav_render(const char *page, size_t len, char *out, size_t cap)
{
    static const char nav[] = SITE_NAV_SIGNED_IN;
    const char *open = memmem(page, len, SITE_NAV_OPEN, sizeof(SITE_NAV_OPEN) - 1);
    const char *close, *rest;
    size_t head, tail;

    if (open == NULL)
        return -1;
    open += sizeof(SITE_NAV_OPEN) - 1;
    close = memmem(open, len - (size_t) (open - page), SITE_NAV_CLOSE,
                   sizeof(SITE_NAV_CLOSE) - 1);
    if (close == NULL)
        return -1;
    head = (size_t) (open - page);
    rest = close;
    tail = len - (size_t) (rest - page);
    if (head + sizeof(nav) - 1 + tail > cap)
        return -1;
    memcpy(out, page, head);
    memcpy(out + head, nav, sizeof(nav) - 1);
    memcpy(out + head + sizeof(nav) - 1, rest, tail);
    return (long) (head + sizeof(nav) - 1 + tail);
}
