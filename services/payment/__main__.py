from services.common.app import serve

serve("payment")
