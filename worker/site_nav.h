/* site_nav.h - the site's navigation bar for a signed-in visitor, without
 * script: the static pages carry the signed-out bar between two markers,
 *   <!--nav--><a href="/register.html">Register</a>...<!--/nav-->
 * and a visitor whose request carries a session cookie gets the page with
 * SITE_NAV_SIGNED_IN there instead. Whether the session is still valid is
 * not asked (static files never wait for Redis): a stale cookie shows "My
 * page", which then leads to the login page and clears the cookie.
 * Pure functions; worker only.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_SITE_NAV_H
#define WORKER_SITE_NAV_H

#include <stdbool.h>
#include <stddef.h>

#define SITE_NAV_OPEN   "<!--nav-->"
#define SITE_NAV_CLOSE  "<!--/nav-->"

/* The bar's links for a signed-in visitor: their page, and logging out
 * (a POST, like every change of who is signed in). */
#define SITE_NAV_SIGNED_IN                                                  \
    "<a href=\"/welcome\">My page</a>"                                      \
    "<form class=\"nav-form\" method=\"post\" action=\"/logout\">"          \
    "<button type=\"submit\">Log out</button></form>"

/* Does the Cookie header value COOKIE (LEN bytes) carry a session token
 * (sid=<64 lower-case hex digits>)? */
bool site_nav_signed_in(const char *cookie, size_t len);

/* PAGE (LEN bytes) with the part between the markers replaced by
 * SITE_NAV_SIGNED_IN, into OUT (CAP bytes). Returns the new length, or -1
 * when PAGE has no markers or OUT is too small. */
long site_nav_render(const char *page, size_t len, char *out, size_t cap);

#endif
