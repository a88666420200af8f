from services.activities.main import main

main()
