-- Opportunities (DESIGN 5.2): current state, lifecycle history, and the current ranking.

-- Current opportunities, upserted from the `opportunities` stream; a retracted one is deleted.
CREATE TABLE opportunities (
    symbol                 text        NOT NULL,
    long_venue             text        NOT NULL,
    short_venue            text        NOT NULL,
    long_rate_per_hour     numeric     NOT NULL,
    short_rate_per_hour    numeric     NOT NULL,
    gross_apr              numeric     NOT NULL,
    cost_apr               numeric     NOT NULL,
    net_apr                numeric     NOT NULL,
    spread_score           numeric     NOT NULL,
    liquidity_score        numeric     NOT NULL,
    confidence_score       numeric     NOT NULL,
    uos                    numeric     NOT NULL,
    long_next_funding_ms   bigint,
    short_next_funding_ms  bigint,
    logical_time           bigint      NOT NULL,
    updated_at             timestamptz NOT NULL,
    PRIMARY KEY (symbol, long_venue, short_venue)
);

-- Append-only lifecycle: `discovered` (appears), `updated` (changes), `expired` (retracted), with
-- the figures after the event (before it, for `expired`).
CREATE TABLE opportunity_events (
    symbol        text        NOT NULL,
    long_venue    text        NOT NULL,
    short_venue   text        NOT NULL,
    event         text        NOT NULL CHECK (event IN ('discovered', 'updated', 'expired')),
    logical_time  bigint      NOT NULL,
    event_at      timestamptz NOT NULL,
    net_apr       numeric     NOT NULL,
    uos           numeric     NOT NULL,
    record        jsonb       NOT NULL,
    PRIMARY KEY (symbol, long_venue, short_venue, logical_time)
);

-- The current top-k.
CREATE TABLE ranked (
    rank          integer     PRIMARY KEY,
    symbol        text        NOT NULL,
    long_venue    text        NOT NULL,
    short_venue   text        NOT NULL,
    uos           numeric     NOT NULL,
    net_apr       numeric     NOT NULL,
    logical_time  bigint      NOT NULL,
    updated_at    timestamptz NOT NULL
);
