# The Astro CLI's image: `astro dev start`, `astro dev parse`, `astro dev pytest` and
# `astro deploy` build this file. The Astro CLI wants it here, starting FROM an Astro Runtime
# image; docker-compose.yaml builds docker/Dockerfile instead (python:3.11-slim, the full pins).
#
# Astro Runtime 3.3-8 ships Apache Airflow 3.3.2, the version this project pins. Runtime 3.3
# ships Python 3.12, 3.13 and 3.14 (3.14 by default) and no 3.11, the version the project is
# developed and tested on: the python-3.12 build is the closest.
#
# The Runtime image's ONBUILD steps install packages.txt (apt) and requirements.txt (pip), then
# copy the project to /usr/local/airflow (AIRFLOW_HOME). Airflow puts plugins/ on sys.path, so
# dags/ import airflow_mlops from plugins/airflow_mlops without installing it.
FROM astrocrpublic.azurecr.io/runtime:3.3-8-python-3.12

ENV AIRFLOW_MLOPS_INCLUDE_DIR=/usr/local/airflow/include
