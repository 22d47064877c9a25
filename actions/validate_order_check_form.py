"""The order check form: which order, and proof it is the buyer's, before an after-sale answer."""

from __future__ import annotations

from typing import Text

from actions.order_proof import OrderProofValidation


class ValidateOrderCheckForm(OrderProofValidation):
    def name(self) -> Text:
        return "validate_order_check_form"
