-- Risk-gate decisions and orders (DESIGN 5.5).

-- Decisions, append-only: one row each time the gate's decision on an arbitrage appears or
-- changes (`decided_time`); the row it replaces, or a decision that lapses because the
-- arbitrage is no longer a candidate, is marked `superseded_time`. Re-running a batch changes
-- nothing.
CREATE TABLE decisions (
    arb_id           text        NOT NULL,
    decided_time     bigint      NOT NULL,
    decided_at       timestamptz NOT NULL,
    symbol           text        NOT NULL,
    long_venue       text        NOT NULL,
    short_venue      text        NOT NULL,
    accepted         boolean     NOT NULL,
    reasons          text[]      NOT NULL,
    superseded_time  bigint,
    superseded_at    timestamptz,
    PRIMARY KEY (arb_id, decided_time)
);

-- Every order intent sent, once: the deterministic client order id makes a re-dispatch (a
-- replay, a restart) a no-op here as it is in JetStream's duplicate window.
CREATE TABLE orders (
    client_order_id  text        PRIMARY KEY,
    arb_id           text        NOT NULL,
    action           text        NOT NULL,
    account          text        NOT NULL,
    venue            text        NOT NULL,
    symbol           text        NOT NULL,
    side             text        NOT NULL,
    qty              numeric     NOT NULL,
    order_type       text        NOT NULL,
    reduce_only      boolean     NOT NULL,
    logical_time     bigint      NOT NULL,
    sent_at          timestamptz NOT NULL
);

CREATE INDEX orders_arb ON orders (arb_id, logical_time);

-- The halts in force: the latest `control.halt` per (scope, target), halted or lifted, as of the
-- logical time it arrived. Critical alerts halt an account too; they are in `alerts`.
CREATE TABLE halts (
    scope        text        NOT NULL,
    target       text        NOT NULL,
    halted       boolean     NOT NULL,
    reason       text        NOT NULL,
    since_time   bigint      NOT NULL,
    since_at     timestamptz NOT NULL,
    PRIMARY KEY (scope, target)
);
