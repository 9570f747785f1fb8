"""Message providers behind one interface: Twilio SMS, Meta WhatsApp Cloud API, and the outbox."""
