-- The gateway tables as bot/gateway/store.py, bot/review/agents.py, bot/review/queue.py and bot/training/jobs.py created them
-- (metadata.create_all, SQLAlchemy 1.4.54, sqlite dialect) before the project had migrations.
-- Frozen: the tests take over databases like this one. Never edit.

CREATE TABLE gateway_sessions (
	session_id VARCHAR(64) NOT NULL,
	buyer_id VARCHAR(32),
	created_at DATETIME NOT NULL,
	last_seen DATETIME NOT NULL,
	PRIMARY KEY (session_id)
);

CREATE INDEX ix_gateway_sessions_buyer_id ON gateway_sessions (buyer_id);

CREATE TABLE gateway_messages (
	id INTEGER NOT NULL,
	session_id VARCHAR(64) NOT NULL,
	role VARCHAR(16) NOT NULL,
	text TEXT NOT NULL,
	extra TEXT NOT NULL,
	client_id VARCHAR(64),
	created_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_message_client_id UNIQUE (session_id, client_id)
);

CREATE INDEX ix_gateway_messages_session_id ON gateway_messages (session_id);

CREATE TABLE gateway_pending_events (
	id INTEGER NOT NULL,
	buyer_id VARCHAR(32) NOT NULL,
	order_id VARCHAR(19) NOT NULL,
	event VARCHAR(32) NOT NULL,
	created_at DATETIME NOT NULL,
	PRIMARY KEY (id)
);

CREATE INDEX ix_gateway_pending_events_buyer_id ON gateway_pending_events (buyer_id);

CREATE TABLE agent_accounts (
	username VARCHAR(64) NOT NULL,
	password_hash VARCHAR(255) NOT NULL,
	role VARCHAR(16) NOT NULL,
	created_at DATETIME NOT NULL,
	PRIMARY KEY (username)
);

CREATE TABLE agent_logins (
	token_hash VARCHAR(64) NOT NULL,
	username VARCHAR(64) NOT NULL,
	expires_at DATETIME NOT NULL,
	PRIMARY KEY (token_hash)
);

CREATE TABLE review_suggestions (
	id INTEGER NOT NULL,
	session_id VARCHAR(64) NOT NULL,
	buyer_id VARCHAR(32),
	buyer_text TEXT NOT NULL,
	intent VARCHAR(64),
	confidence FLOAT,
	parse TEXT NOT NULL,
	replies TEXT NOT NULL,
	reason TEXT NOT NULL,
	status VARCHAR(16) NOT NULL,
	handled_by VARCHAR(64),
	final_text TEXT,
	created_at DATETIME NOT NULL,
	handled_at DATETIME,
	PRIMARY KEY (id)
);

CREATE INDEX ix_review_suggestions_session_id ON review_suggestions (session_id);

CREATE INDEX ix_review_suggestions_status ON review_suggestions (status);

CREATE TABLE review_conversations (
	session_id VARCHAR(64) NOT NULL,
	taken_over_by VARCHAR(64),
	human_requested_at DATETIME,
	PRIMARY KEY (session_id)
);

CREATE TABLE training_candidates (
	id INTEGER NOT NULL,
	text TEXT NOT NULL,
	predicted_intent VARCHAR(64),
	correct_intent VARCHAR(64),
	source VARCHAR(16) NOT NULL,
	agent VARCHAR(64),
	status VARCHAR(16) NOT NULL,
	created_at DATETIME NOT NULL,
	PRIMARY KEY (id)
);

CREATE TABLE training_jobs (
	id INTEGER NOT NULL,
	status VARCHAR(16) NOT NULL,
	progress INTEGER NOT NULL,
	message TEXT NOT NULL,
	model VARCHAR(128),
	accuracy FLOAT,
	previous_accuracy FLOAT,
	started_at DATETIME NOT NULL,
	finished_at DATETIME,
	PRIMARY KEY (id)
);

CREATE TABLE trained_models (
	name VARCHAR(128) NOT NULL,
	path TEXT NOT NULL,
	created_at DATETIME NOT NULL,
	accuracy FLOAT,
	macro_f1 FLOAT,
	report_dir TEXT,
	active BOOLEAN NOT NULL,
	PRIMARY KEY (name)
);

