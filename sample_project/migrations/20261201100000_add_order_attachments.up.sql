-- An optional file attached to an order: its storage key and the client's file name.
ALTER TABLE orders
    ADD COLUMN attachment_key text,
    ADD COLUMN attachment_name text CHECK (length(attachment_name) <= 255);
