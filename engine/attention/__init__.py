"""Attention toolkit: the softmax family (normalizers), mask patterns (masks), numerical
studies from the seed posts (studies) and attention maps of Mowen's transformers (extract).

Light on purpose: importing ``engine.attention`` loads neither torch nor Qt.
"""
