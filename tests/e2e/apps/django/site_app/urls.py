import psycopg
from django.conf import settings
from django.http import HttpResponse
from django.urls import path


def index(request):
    collected = (settings.STATIC_ROOT / "hello.css").exists()
    return HttpResponse(
        f"django-app collected={collected} psycopg={psycopg.__version__} impl={psycopg.pq.__impl__} "
        f"libpq={psycopg.pq.version()}\n",
        content_type="text/plain",
    )


urlpatterns = [path("", index)]
