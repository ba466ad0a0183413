ALTER TABLE orders DROP COLUMN attachment_key, DROP COLUMN attachment_name;
