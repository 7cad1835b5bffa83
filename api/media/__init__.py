"""WhatsApp beyond text: invoices as a PIX QR image and a boleto file, customers' voice notes, photos and files."""
