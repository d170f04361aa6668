"""The versioned topic catalog: categories and topics, edited as a draft, published in one step."""
