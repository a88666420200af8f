from services.projection.main import main

main()
