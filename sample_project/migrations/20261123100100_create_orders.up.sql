-- Orders taken by a user for a customer.
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    customer text NOT NULL CHECK (length(customer) BETWEEN 1 AND 200),
    item text NOT NULL CHECK (length(item) BETWEEN 1 AND 200),
    quantity integer NOT NULL DEFAULT 1 CHECK (quantity > 0),
    total numeric(10, 2) NOT NULL CHECK (total >= 0),
    status text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'shipped', 'cancelled')),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_created_at ON orders (created_at DESC);
