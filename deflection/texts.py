"""Every customer-facing text of this domain, in Spanish and English."""

from __future__ import annotations

LANGUAGES = ("es", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "es": {
        "link_sms": "Puente: continúe su consulta aquí {url} (ref. {ref}). Responda BAJA para no recibir más mensajes.",
        "rating_sms": "Puente: gracias por su llamada. ¿Nos valora? {url} Responda BAJA para no recibir más mensajes.",
        "link_whatsapp": "Puente: continúe su consulta (ref. {ref}) aquí {url}",
        "rating_whatsapp": "Puente: gracias por su llamada. Valórenos (ref. {ref}) aquí {url}",
    },
    "en": {
        "link_sms": "Puente: continue your request here {url} (ref {ref}). Reply STOP to opt out.",
        "rating_sms": "Puente: thanks for calling. How did we do? {url} Reply STOP to opt out.",
        "link_whatsapp": "Puente: continue your request (ref {ref}) here {url}",
        "rating_whatsapp": "Puente: thanks for calling. Rate us (ref {ref}) here {url}",
    },
}

# WhatsApp template language codes (as approved in Meta's template manager).
WHATSAPP_LANGUAGE = {"es": "es", "en": "en_US"}

PAGE: dict[str, dict[str, str]] = {
    "es": {
        "title": "Continúe su consulta",
        "skip": "Saltar al contenido",
        "hello": "Hola",
        "called_about": "Llamó por {topic} a las {time} y esperó {wait}.",
        "called_at": "Llamó a las {time}.",
        "you_said": "Lo que nos dijo",
        "reference": "Referencia",
        "expires": "Este enlace caduca el {when}.",
        "wa_title": "Seguir por WhatsApp",
        "wa_button": "Abrir WhatsApp",
        "wa_text": "Hola, mi referencia es {ref}",
        "case_title": "Describa su consulta",
        "case_label": "¿En qué podemos ayudarle?",
        "case_button": "Enviar",
        "case_target": "Le responderemos en menos de {hours} horas.",
        "case_done": "Recibido. Su caso es el n.º {id}; le responderemos antes del {when}.",
        "cb_title": "Le llamamos",
        "cb_label": "Elija día y hora",
        "cb_button": "Pedir la llamada",
        "cb_none": "Ahora no hay horas disponibles.",
        "cb_done": "Le llamaremos el {when}.",
        "cb_refused": "No podemos programar esa llamada.",
        "rate_title": "Valore nuestro servicio",
        "rate_legend": "Puntuación (1 = mal, 5 = excelente)",
        "rate_comment": "Comentario (opcional)",
        "rate_button": "Enviar valoración",
        "rate_done": "Gracias por su valoración ({score} de 5).",
        "minutes": "{n} minutos",
        "minute": "1 minuto",
        "seconds": "menos de un minuto",
        "switch": "English",
        "gone_title": "Enlace no disponible",
        "gone_text": "Este enlace no existe o ha caducado. Si lo necesita, vuelva a llamarnos y le enviaremos otro.",
        "error": "No se pudo completar. Inténtelo de nuevo.",
        "called_on": "Llamó el {when}.",
        "why_queue_wait": "Le enviamos este enlace mientras esperaba en la cola de {topic}{waited}.",
        "why_queue_wait_plain": "Le enviamos este enlace mientras esperaba para hablar con nosotros{waited}.",
        "waited": " (esperó {wait})",
        "why_after_hours": "Le enviamos este enlace porque llamó fuera de nuestro horario de atención.",
        "why_holiday": "Le enviamos este enlace porque llamó en un día festivo ({holiday}) y estábamos cerrados.",
        "why_flow_offer": "Le enviamos este enlace porque lo aceptó durante la llamada.",
        "why_rating": "Le enviamos este enlace para que valore la atención que recibió.",
        "chose": "Eligió: {topic}.",
        "cb_zone": "Las horas se muestran en {zone}.",
        "cb_zone_pick": "Zona horaria",
        "cb_zone_button": "Ver en esta zona",
        "cb_change_title": "Cambiar o cancelar",
        "cb_change_label": "Elija otra hora",
        "cb_change_button": "Cambiar la hora",
        "cb_cancel_button": "Cancelar la llamada",
        "cb_changed": "Hecho: le llamaremos el {when}.",
        "cb_cancelled": "Llamada cancelada. Puede pedir otra cuando quiera.",
        "cb_served": "Le llamamos el {when}.",
        "cb_unavailable": "Esa hora ya no está disponible. Elija otra.",
        "slow_title": "Demasiadas solicitudes",
        "slow_text_link": ("Este enlace se ha abierto muchas veces en poco tiempo, así que lo hemos pausado un "
                           "momento para proteger sus datos."),
        "slow_text_client": ("Desde su conexión se han pedido muchos enlaces que no existen, así que la hemos "
                             "pausado un momento."),
        "slow_retry": "Vuelva a intentarlo dentro de {seconds} segundos.",
        "slow_call": "Si lo necesita ya, llámenos al",
        "slow_call_plain": "Si lo necesita ya, llame a nuestro teléfono de atención al cliente.",
    },
    "en": {
        "title": "Continue your request",
        "skip": "Skip to content",
        "hello": "Hello",
        "called_about": "You called about {topic} at {time} and waited {wait}.",
        "called_at": "You called at {time}.",
        "you_said": "What you told us",
        "reference": "Reference",
        "expires": "This link expires on {when}.",
        "wa_title": "Continue on WhatsApp",
        "wa_button": "Open WhatsApp",
        "wa_text": "Hello, my reference is {ref}",
        "case_title": "Describe your issue",
        "case_label": "How can we help?",
        "case_button": "Send",
        "case_target": "We will answer within {hours} hours.",
        "case_done": "Received. Your case is number {id}; we will answer by {when}.",
        "cb_title": "We call you",
        "cb_label": "Pick a day and time",
        "cb_button": "Request the call",
        "cb_none": "No times are available right now.",
        "cb_done": "We will call you on {when}.",
        "cb_refused": "We cannot schedule that call.",
        "rate_title": "Rate our service",
        "rate_legend": "Score (1 = poor, 5 = excellent)",
        "rate_comment": "Comment (optional)",
        "rate_button": "Send rating",
        "rate_done": "Thank you for your rating ({score} out of 5).",
        "minutes": "{n} minutes",
        "minute": "1 minute",
        "seconds": "less than a minute",
        "switch": "Español",
        "gone_title": "Link not available",
        "gone_text": "This link does not exist or has expired. Call us again and we will send you a new one.",
        "error": "That did not work. Please try again.",
        "called_on": "You called on {when}.",
        "why_queue_wait": "We sent you this link while you were waiting in the {topic} queue{waited}.",
        "why_queue_wait_plain": "We sent you this link while you were waiting to talk to us{waited}.",
        "waited": " (you waited {wait})",
        "why_after_hours": "We sent you this link because you called outside our opening hours.",
        "why_holiday": "We sent you this link because you called on a public holiday ({holiday}) when we were closed.",
        "why_flow_offer": "We sent you this link because you accepted it during the call.",
        "why_rating": "We sent you this link so you can rate the help you received.",
        "chose": "You chose: {topic}.",
        "cb_zone": "Times are shown in {zone}.",
        "cb_zone_pick": "Time zone",
        "cb_zone_button": "Show in this zone",
        "cb_change_title": "Change or cancel",
        "cb_change_label": "Pick another time",
        "cb_change_button": "Change the time",
        "cb_cancel_button": "Cancel the call",
        "cb_changed": "Done: we will call you on {when}.",
        "cb_cancelled": "Call cancelled. You can ask for another one at any time.",
        "cb_served": "We called you on {when}.",
        "cb_unavailable": "That time is no longer available. Please pick another.",
        "slow_title": "Too many requests",
        "slow_text_link": ("This link was opened many times in a short while, so we paused it for a moment to "
                           "protect your data."),
        "slow_text_client": "Your connection asked for many links that do not exist, so we paused it for a moment.",
        "slow_retry": "Please try again in {seconds} seconds.",
        "slow_call": "If you need us now, call us on",
        "slow_call_plain": "If you need us now, call our customer support line.",
    },
}

# Queue names as the caller hears them.
TOPICS: dict[str, dict[str, str]] = {
    "es": {"billing": "facturación", "support": "soporte técnico", "general": "información general"},
    "en": {"billing": "billing", "support": "technical support", "general": "general information"},
}


def lang(language: str | None) -> str:
    return language if language in LANGUAGES else "es"


def message(language: str, key: str, **values: str) -> str:
    return MESSAGES[lang(language)][key].format(**values)
