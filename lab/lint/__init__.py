"""`lab lint`: offline checks of Jenkinsfiles against the lab's Jenkins and CD4ML pitfalls."""
