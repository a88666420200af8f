from services.projects.main import main

main()
