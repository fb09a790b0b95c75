"""Notification service: consumes order/payment confirmations, stores them, mails the customer."""
