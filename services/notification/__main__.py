from services.common.app import serve

serve("notification")
