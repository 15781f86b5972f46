-- Market-surveillance alerts (DESIGN 5.4). Append-only: a row is never deleted. An alert is
-- raised once (`raised_time`); until its episode settles it may gain evidence (a layering alert
-- gains the orders placed after it fired), which updates the row in place (`revised_time`); an
-- alert withdrawn before it settled (a threshold raised at run time) keeps its row, marked
-- `withdrawn_time`. Re-running a batch changes nothing.
CREATE TABLE alerts (
    alert_id        text        PRIMARY KEY,
    pattern         text        NOT NULL,
    severity        text        NOT NULL,
    venue           text        NOT NULL,
    account         text        NOT NULL,
    symbol          text        NOT NULL,
    first_us        bigint      NOT NULL,
    last_us         bigint      NOT NULL,
    evidence        text[]      NOT NULL,
    details         jsonb       NOT NULL,
    raised_time     bigint      NOT NULL,
    raised_at       timestamptz NOT NULL,
    revised_time    bigint      NOT NULL,
    withdrawn_time  bigint,
    withdrawn_at    timestamptz
);

-- The risk gate looks up critical alerts per account.
CREATE INDEX alerts_account ON alerts (account, severity);
