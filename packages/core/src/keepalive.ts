/**
 * How long the edge keeps an idle connection to an origin for reuse (nginx `keepalive_timeout`
 * in its upstream block). An origin must keep idle connections open longer than this: when the
 * origin closes first, nginx can send a request on a connection the origin is closing at that
 * very moment, and the request fails ("upstream prematurely closed connection") and moves to
 * the backup origin for no reason.
 */
export const EDGE_UPSTREAM_KEEPALIVE_SECONDS = 60;
