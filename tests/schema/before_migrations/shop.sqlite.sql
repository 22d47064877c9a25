-- The shop tables as bot/shop/orders/sql.py and bot/shop/phone_lock.py created them
-- (metadata.create_all, SQLAlchemy 1.4.54, sqlite dialect) before the project had migrations.
-- Frozen: the tests take over databases like this one. Never edit.

CREATE TABLE products (
	id VARCHAR(16) NOT NULL,
	name VARCHAR(64) NOT NULL,
	aliases TEXT NOT NULL,
	category VARCHAR(32) NOT NULL,
	material TEXT NOT NULL,
	features TEXT NOT NULL,
	care TEXT NOT NULL,
	fades VARCHAR(16) NOT NULL,
	quality_note TEXT NOT NULL,
	usage_note TEXT NOT NULL,
	image TEXT NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (name)
);

CREATE TABLE buyers (
	id VARCHAR(32) NOT NULL,
	name VARCHAR(64) NOT NULL,
	phone VARCHAR(20) NOT NULL,
	province VARCHAR(32) NOT NULL,
	PRIMARY KEY (id)
);

CREATE TABLE skus (
	product_id VARCHAR(16) NOT NULL,
	color VARCHAR(16) NOT NULL,
	size VARCHAR(16) NOT NULL,
	price NUMERIC(10, 2) NOT NULL,
	stock INTEGER NOT NULL,
	restock_at DATETIME,
	position INTEGER NOT NULL,
	PRIMARY KEY (product_id, color, size),
	FOREIGN KEY(product_id) REFERENCES products (id)
);

CREATE TABLE price_history (
	id INTEGER NOT NULL,
	product_id VARCHAR(16) NOT NULL,
	price NUMERIC(10, 2) NOT NULL,
	effective_from DATETIME NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(product_id) REFERENCES products (id)
);

CREATE TABLE orders (
	id VARCHAR(19) NOT NULL,
	buyer_id VARCHAR(32) NOT NULL,
	status VARCHAR(20) NOT NULL,
	created_at DATETIME NOT NULL,
	paid_at DATETIME,
	shipped_at DATETIME,
	delivered_at DATETIME,
	courier VARCHAR(16),
	tracking_no VARCHAR(32),
	province VARCHAR(32) NOT NULL,
	address TEXT NOT NULL,
	phone VARCHAR(20) NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(buyer_id) REFERENCES buyers (id)
);

CREATE INDEX ix_orders_buyer_id ON orders (buyer_id);

CREATE TABLE order_items (
	id INTEGER NOT NULL,
	order_id VARCHAR(19) NOT NULL,
	product_id VARCHAR(16) NOT NULL,
	color VARCHAR(16) NOT NULL,
	size VARCHAR(16) NOT NULL,
	qty INTEGER NOT NULL,
	unit_price NUMERIC(10, 2) NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(order_id) REFERENCES orders (id)
);

CREATE INDEX ix_order_items_order_id ON order_items (order_id);

CREATE TABLE tracking_events (
	id INTEGER NOT NULL,
	order_id VARCHAR(19) NOT NULL,
	at DATETIME NOT NULL,
	location TEXT NOT NULL,
	description TEXT NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(order_id) REFERENCES orders (id)
);

CREATE INDEX ix_tracking_events_order_id ON tracking_events (order_id);

CREATE TABLE return_requests (
	id INTEGER NOT NULL,
	order_id VARCHAR(19) NOT NULL,
	buyer_id VARCHAR(32) NOT NULL,
	reason VARCHAR(16) NOT NULL,
	kind VARCHAR(16) NOT NULL,
	postage_payer VARCHAR(16) NOT NULL,
	status VARCHAR(16) NOT NULL,
	created_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(order_id) REFERENCES orders (id)
);

CREATE INDEX ix_return_requests_buyer_id ON return_requests (buyer_id);

CREATE INDEX ix_return_requests_order_id ON return_requests (order_id);

CREATE TABLE price_refunds (
	id INTEGER NOT NULL,
	order_id VARCHAR(19) NOT NULL,
	buyer_id VARCHAR(32) NOT NULL,
	amount NUMERIC(10, 2) NOT NULL,
	status VARCHAR(16) NOT NULL,
	created_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(order_id) REFERENCES orders (id)
);

CREATE INDEX ix_price_refunds_order_id ON price_refunds (order_id);

CREATE TABLE phone_tail_failures (
	order_id VARCHAR(32) NOT NULL,
	failures INTEGER NOT NULL,
	locked_until DATETIME,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (order_id)
);

