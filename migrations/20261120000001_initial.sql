-- nexus: the tables of the live worker (DESIGN section 6). Logical times are bigint microseconds;
-- every *_at column is the same instant as timestamptz.

-- Current reconciled funding snapshot per (venue, asset), upserted from the `snapshots` stream.
CREATE TABLE snapshots (
    venue            text             NOT NULL,
    symbol           text             NOT NULL,
    rate             numeric          NOT NULL,
    interval_h       numeric          NOT NULL,
    rate_per_hour    numeric          NOT NULL,
    apr              numeric          NOT NULL,
    next_funding_ms  bigint,
    mark_price       numeric,
    source           text             NOT NULL,
    status           text             NOT NULL,
    confidence       double precision NOT NULL,
    exchange_rate    numeric,
    scanner_rate     numeric,
    logical_time     bigint           NOT NULL,
    updated_at       timestamptz      NOT NULL,
    PRIMARY KEY (venue, symbol)
);

-- Every `discrepancies` record with the logical times it appeared and was retracted.
CREATE TABLE discrepancy_history (
    venue          text        NOT NULL,
    symbol         text        NOT NULL,
    exchange_rate  numeric     NOT NULL,
    scanner_rate   numeric     NOT NULL,
    abs_diff       numeric     NOT NULL,
    opened_time    bigint      NOT NULL,
    opened_at      timestamptz NOT NULL,
    closed_time    bigint,
    closed_at      timestamptz,
    PRIMARY KEY (venue, symbol, opened_time)
);
CREATE INDEX discrepancy_history_open ON discrepancy_history (venue, symbol) WHERE closed_time IS NULL;

-- Inputs that could not be used; `ordinal` orders the rejections of one logical time.
CREATE TABLE rejected_inputs (
    logical_time  bigint      NOT NULL,
    ordinal       integer     NOT NULL,
    subject       text        NOT NULL,
    reason        text        NOT NULL,
    excerpt       text        NOT NULL,
    received_at   timestamptz NOT NULL,
    PRIMARY KEY (logical_time, ordinal)
);

-- The effective configuration, one row per dotted key, as of the logical time it took effect.
CREATE TABLE parameters (
    key           text        PRIMARY KEY,
    value         jsonb       NOT NULL,
    logical_time  bigint      NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- The logical-time frontier each sink has committed: every output before it is written.
CREATE TABLE sink_progress (
    sink          text        PRIMARY KEY,
    frontier      bigint      NOT NULL,
    updated_at    timestamptz NOT NULL
);
