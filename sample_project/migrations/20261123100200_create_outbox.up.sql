-- E-mails the background jobs "send": receipts (one per order) and the periodic summary.
CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('receipt', 'summary')),
    order_id bigint REFERENCES orders (id) ON DELETE CASCADE,
    recipient text NOT NULL,
    subject text NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- A retried receipt job must not send the receipt twice.
CREATE UNIQUE INDEX outbox_one_receipt_per_order ON outbox (order_id) WHERE kind = 'receipt';
