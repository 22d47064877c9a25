"""The revisions, one branch per part of the schema: shop_NNNN_*.py and gateway_NNNN_*.py."""
