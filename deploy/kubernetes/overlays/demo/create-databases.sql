-- The demo's PostgreSQL: the orders and the gateway databases beside Rasa's qinkefu_tracker.
CREATE DATABASE qinkefu_shop;
CREATE DATABASE qinkefu_gateway;
