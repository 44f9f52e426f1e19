"""What the link carries: figures and inventories received from children, bulletins marked for sharing."""
