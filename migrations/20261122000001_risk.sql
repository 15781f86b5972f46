-- Positions and rolling VaR (DESIGN 5.3): current state per account, and the VaR history.

-- Net size per (account, venue, asset), upserted from the `positions` stream (0 once flat).
CREATE TABLE positions (
    account       text        NOT NULL,
    venue         text        NOT NULL,
    symbol        text        NOT NULL,
    qty           numeric     NOT NULL,
    logical_time  bigint      NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (account, venue, symbol)
);

-- Current VaR per account, upserted from the `var` stream; deleted when the account has no record.
CREATE TABLE var (
    account         text             PRIMARY KEY,
    returns         integer          NOT NULL,
    exposure_net    numeric          NOT NULL,
    exposure_gross  numeric          NOT NULL,
    var_hist_95     numeric          NOT NULL,
    es_hist_95      numeric          NOT NULL,
    var_hist_99     numeric          NOT NULL,
    es_hist_99      numeric          NOT NULL,
    var_param_95    double precision NOT NULL,
    var_param_99    double precision NOT NULL,
    logical_time    bigint           NOT NULL,
    updated_at      timestamptz      NOT NULL
);

-- Append-only: every VaR figure set an account had, at the logical time it took effect.
CREATE TABLE var_history (
    account         text             NOT NULL,
    logical_time    bigint           NOT NULL,
    computed_at     timestamptz      NOT NULL,
    returns         integer          NOT NULL,
    exposure_net    numeric          NOT NULL,
    exposure_gross  numeric          NOT NULL,
    var_hist_95     numeric          NOT NULL,
    es_hist_95      numeric          NOT NULL,
    var_hist_99     numeric          NOT NULL,
    es_hist_99      numeric          NOT NULL,
    var_param_95    double precision NOT NULL,
    var_param_99    double precision NOT NULL,
    PRIMARY KEY (account, logical_time)
);

-- Current stress P&L per (account, scenario), from the `stress` stream.
CREATE TABLE stress (
    account       text        NOT NULL,
    scenario      text        NOT NULL,
    pnl           numeric     NOT NULL,
    logical_time  bigint      NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (account, scenario)
);
